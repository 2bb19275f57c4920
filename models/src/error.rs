/// Why a value was refused by a validating constructor.
///
/// Each variant names the field it is about, so an importer can say "line 12: `price`: ...".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    /// A required text field is empty (or only whitespace).
    #[error("`{field}` must not be empty")]
    Empty {
        /// The field's name as it appears in JSON.
        field: &'static str,
    },
    /// A text field is longer than its limit.
    #[error("`{field}` is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The field's name as it appears in JSON.
        field: &'static str,
        /// The length that was given, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// A field holds a character it may not hold (control characters, `/` in an index name, ...).
    #[error("`{field}` contains {what}")]
    BadCharacter {
        /// The field's name as it appears in JSON.
        field: &'static str,
        /// A description of the refused character.
        what: String,
    },
    /// A number is outside the range the field accepts.
    #[error("`{field}` is {value}; {expected}")]
    OutOfRange {
        /// The field's name as it appears in JSON.
        field: &'static str,
        /// The value that was given, printed.
        value: String,
        /// What the field accepts, as a sentence fragment ("it must be at least 0").
        expected: &'static str,
    },
    /// A value does not have the expected form (a currency code, a URL, an id).
    #[error("`{field}` is not valid: {reason}")]
    Malformed {
        /// The field's name as it appears in JSON.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl ValidationError {
    /// The JSON name of the field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            ValidationError::Empty { field }
            | ValidationError::TooLong { field, .. }
            | ValidationError::BadCharacter { field, .. }
            | ValidationError::OutOfRange { field, .. }
            | ValidationError::Malformed { field, .. } => field,
        }
    }
}

/// Checks a free-text field: trims it, refuses it empty (when `required`), too long, or holding
/// control characters other than newlines and tabs. Returns the trimmed text.
pub(crate) fn clean_text(field: &'static str, value: &str, max_len: usize) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    if trimmed.len() > max_len {
        return Err(ValidationError::TooLong { field, len: trimmed.len(), max: max_len });
    }
    if let Some(bad) = trimmed.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(ValidationError::BadCharacter {
            field,
            what: format!("the control character U+{:04X}", bad as u32),
        });
    }
    Ok(trimmed.to_owned())
}

/// Like [`clean_text`] for an optional field: `None` and blank text both become `None`.
pub(crate) fn clean_optional_text(
    field: &'static str,
    value: Option<String>,
    max_len: usize,
) -> Result<Option<String>, ValidationError> {
    match value {
        Some(text) if !text.trim().is_empty() => clean_text(field, &text, max_len).map(Some),
        _ => Ok(None),
    }
}
