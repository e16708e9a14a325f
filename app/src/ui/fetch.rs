//! Resources that load a page's data, on the server during the render and in the browser on
//! later changes.
//!
//! leptos_router builds a matched route's view more than once during a server render (a
//! preload and the real one), and the extra copy's owner can be gone by the time its fetch
//! runs. A server function called from such a fetch then found no `AppState` or request in
//! context, failed as "internal", and that failure was serialized for the browser, which
//! then hydrated the wrong branch and stopped. [`page_resource`] takes the request's context
//! when the resource is created, while it is certainly reachable, and hands it to the fetch.

use std::future::Future;

use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `Resource::new`, with the request's context carried into the fetch on the server.
pub fn page_resource<K, T, Fut>(
    key: impl Fn() -> K + Send + Sync + 'static,
    fetch: impl Fn(K) -> Fut + Send + Sync + 'static,
) -> Resource<T>
where
    K: PartialEq + Clone + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    #[cfg(feature = "ssr")]
    let request = ssr::RequestContext::capture();

    #[cfg_attr(
        not(feature = "ssr"),
        expect(
            clippy::redundant_async_block,
            reason = "the block provides context on the server"
        )
    )]
    Resource::new(key, move |key| {
        #[cfg(feature = "ssr")]
        let request = request.clone();
        let fetching = fetch(key);
        async move {
            // Server function bodies run on the first poll, after this.
            #[cfg(feature = "ssr")]
            request.provide();
            fetching.await
        }
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    use axum::http::request::Parts;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::state::AppState;

    /// What server functions read from context during a server render.
    #[derive(Clone)]
    pub struct RequestContext {
        state: Option<AppState>,
        parts: Option<Parts>,
        response: Option<ResponseOptions>,
    }

    impl RequestContext {
        pub fn capture() -> Self {
            Self {
                state: use_context::<AppState>(),
                parts: use_context::<Parts>(),
                response: use_context::<ResponseOptions>(),
            }
        }

        pub fn provide(self) {
            if let Some(state) = self.state {
                provide_context(state);
            }
            if let Some(parts) = self.parts {
                provide_context(parts);
            }
            if let Some(response) = self.response {
                provide_context(response);
            }
        }
    }
}
