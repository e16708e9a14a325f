//! Rules about user text shared by the browser and the server, so both count and reject the
//! same way.

use unicode_segmentation::UnicodeSegmentation;

/// Length as a person counts it: one per grapheme cluster, so an emoji with skin tone or a
/// letter with combining accents counts once, exactly as the composer shows it.
pub fn grapheme_count(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Characters that change the direction of the surrounding text. In a name they can make
/// "evil.exe" read as "exe.live", so names refuse them; message bodies keep them because
/// right-to-left writers need them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that render as nothing (or as blank space) and so cannot make a name visible.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Why a name was refused, phrased for the person typing it.
#[derive(Debug, PartialEq, Eq)]
pub enum NameProblem {
    Blank,
    Bidi,
    Control,
    TooLong { max: usize },
}

impl NameProblem {
    pub fn message(&self, what: &str) -> String {
        match self {
            Self::Blank => format!("{what} needs at least one visible character."),
            Self::Bidi => format!("{what} cannot contain text-direction control characters."),
            Self::Control => format!("{what} cannot contain control characters or line breaks."),
            Self::TooLong { max } => format!("{what} is limited to {max} characters."),
        }
    }
}

/// Trims a one-line name (display name, room name) and checks it is visible, free of
/// direction tricks and control characters, and at most `max` graphemes long.
pub fn clean_name(raw: &str, max: usize) -> Result<String, NameProblem> {
    let name = raw.trim();
    if name.chars().any(is_bidi_control) {
        return Err(NameProblem::Bidi);
    }
    if name.chars().any(char::is_control) {
        return Err(NameProblem::Control);
    }
    if name.chars().all(is_invisible) {
        return Err(NameProblem::Blank);
    }
    if grapheme_count(name) > max {
        return Err(NameProblem::TooLong { max });
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphemes_count_emoji_and_combining_marks_once() {
        assert_eq!(grapheme_count("👍🏽"), 1);
        assert_eq!(grapheme_count("e\u{301}"), 1);
        assert_eq!(grapheme_count("👨‍👩‍👧"), 1);
        assert_eq!(grapheme_count("abc"), 3);
    }

    #[test]
    fn names_are_trimmed() {
        assert_eq!(clean_name("  Ann Lee \n", 64), Ok("Ann Lee".to_owned()));
    }

    #[test]
    fn invisible_only_names_are_blank() {
        for raw in ["", "   ", "\u{200B}\u{200B}", "\u{3164}", "\u{2800}", "\u{FEFF} \u{00AD}"] {
            assert_eq!(clean_name(raw, 64), Err(NameProblem::Blank), "{raw:?}");
        }
    }

    #[test]
    fn bidi_overrides_are_refused_in_names() {
        assert_eq!(clean_name("evil\u{202E}exe.txt", 64), Err(NameProblem::Bidi));
        assert_eq!(clean_name("a\u{2067}b", 64), Err(NameProblem::Bidi));
    }

    #[test]
    fn control_characters_are_refused_in_names() {
        assert_eq!(clean_name("a\nb", 64), Err(NameProblem::Control));
    }

    #[test]
    fn name_length_counts_graphemes() {
        assert!(clean_name(&"é".repeat(64), 64).is_ok());
        assert_eq!(clean_name(&"é".repeat(65), 64), Err(NameProblem::TooLong { max: 64 }));
    }
}
