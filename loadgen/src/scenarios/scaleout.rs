//! (i) Scenario (a) on the scale-out set-up: two instances of the server sharing one
//! PostgreSQL database and one Redis. Half the users hold their socket on each instance and
//! sends alternate between them, so nearly every delivery crosses Redis from the instance
//! that committed the message to the one holding the reader's socket.

use anyhow::Result;

use crate::cluster::{Cluster, Services};
use crate::report::{Report, Row};
use crate::target::Launch;

use super::Scale;
use super::chat::{fanout_load, run_once};

/// Instances behind the imagined load balancer.
const INSTANCES: usize = 2;

pub async fn two_instances(launch: &Launch, scale: Scale) -> Result<Report> {
    let services = Services::from_env()?;
    let (shape, offered) = fanout_load(scale);

    let mut report = Report::new("i: fan-out (a) on PostgreSQL + Redis, two instances");
    let cluster = Cluster::start(launch, &services, INSTANCES).await?;
    report.push(Row::info("instances (sockets and sends spread over them)", INSTANCES));
    report.push(Row::info("PostgreSQL", cluster.postgres_settings().await?));
    let outcome = run_once(&cluster.deployment(), &shape, offered, &mut report).await?;
    report.rows.extend(outcome.rows(scale.target(100.0)));
    cluster.stop().await?;
    Ok(report)
}
