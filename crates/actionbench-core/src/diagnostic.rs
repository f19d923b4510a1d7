//! One way to report errors, whatever crate they come from.
//!
//! An error may know the obvious fix (a *hint*) and where in a file it
//! happened (a [`Location`]): it says so by implementing [`Diagnose`]. When
//! it crosses a crate boundary as a boxed error (a stage's failure, an
//! `anyhow` chain) it travels as a [`Diagnostic`], which keeps both. A
//! failure that must be stored or sent (the engine's record of a failed
//! stage) becomes a [`Failure`]: plain data, rendered in one place by the
//! command line. (uv's approach: errors carry their hint as data, and only
//! the printer decides how it looks.)

use std::error::Error;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A boxed error that may cross threads.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Where in a file something went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file, as shown to the user (project-relative where possible).
    pub file: String,
    /// 1-based line, for text files.
    pub line: Option<u64>,
    /// 1-based column on that line.
    pub column: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// What an error can tell besides its message.
pub trait Diagnose: Error {
    /// A one-line suggestion that fixes the error, when there is one.
    fn hint(&self) -> Option<String> {
        None
    }
    /// Where in which file, when the error is about a place in a file.
    fn location(&self) -> Option<Location> {
        None
    }
}

/// A boxed error with its hint and location kept. It displays as the error
/// it wraps and has the same causes, so nothing is printed twice.
#[derive(Debug)]
pub struct Diagnostic {
    error: BoxError,
    hint: Option<String>,
    location: Option<Location>,
}

impl Diagnostic {
    /// Wraps an error that knows its hint and location.
    pub fn new<E: Diagnose + Send + Sync + 'static>(error: E) -> Self {
        let (hint, location) = (error.hint(), error.location());
        Self { error: Box::new(error), hint, location }
    }

    /// A plain message with a hint.
    pub fn message(message: impl Into<String>, hint: Option<String>) -> Self {
        Self { error: message.into().into(), hint, location: None }
    }

    /// A plain message with its fix.
    pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::message(message, Some(hint.into()))
    }

    /// Any error, with a hint.
    pub fn with_hint(error: impl Into<BoxError>, hint: impl Into<String>) -> Self {
        Self { error: error.into(), hint: Some(hint.into()), location: None }
    }

    /// The wrapped error.
    pub fn error(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.error.as_ref()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl Error for Diagnostic {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.error.source()
    }
}

impl Diagnose for Diagnostic {
    fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
    fn location(&self) -> Option<Location> {
        self.location.clone()
    }
}

/// Finds what an error in a chain can tell: [`Diagnostic`] always; a
/// caller that knows more error types (the command line knows every
/// crate's) passes a probe that also recognises them.
pub type Probe<'a> = &'a dyn for<'e> Fn(&'e (dyn Error + 'static)) -> Option<&'e dyn Diagnose>;

/// The probe that knows only [`Diagnostic`].
pub fn diagnostic_probe<'e>(error: &'e (dyn Error + 'static)) -> Option<&'e dyn Diagnose> {
    error.downcast_ref::<Diagnostic>().map(|d| d as &dyn Diagnose)
}

/// A failure as plain data: the message, where, the fix, and the causes
/// (each once). What the engine records for a failed stage and what the
/// command line prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The top-level message.
    pub message: String,
    /// Where, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The fix, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The chain of causes below the message, outermost first; a cause whose
    /// text the message above it already contains is left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

impl Failure {
    /// A failure with only a message.
    pub fn message(message: impl Into<String>) -> Self {
        Self { message: message.into(), location: None, hint: None, causes: Vec::new() }
    }

    /// Reads an error chain; hints and locations come from the first error
    /// in the chain that `probe` recognises and that has one.
    pub fn from_error(error: &(dyn Error + 'static), probe: Probe<'_>) -> Self {
        let mut failure = Self::message(error.to_string());
        let mut last = failure.message.clone();
        let mut at = Some(error);
        let mut first = true;
        while let Some(e) = at {
            if let Some(d) = probe(e) {
                failure.hint = failure.hint.or_else(|| d.hint());
                failure.location = failure.location.or_else(|| d.location());
            }
            if !first {
                let text = e.to_string();
                if !last.contains(&text) {
                    failure.causes.push(text.clone());
                }
                last = text;
            }
            first = false;
            at = e.source();
        }
        failure
    }

    /// The failure on one line: the message, then `: cause` for each cause.
    pub fn one_line(&self) -> String {
        let mut text = self.message.clone();
        for cause in &self.causes {
            text.push_str(": ");
            text.push_str(cause);
        }
        text
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("`data/a.skeleton` line 3: expected 25 joints")]
    struct Bad;

    impl Diagnose for Bad {
        fn hint(&self) -> Option<String> {
            Some("Re-export the file".into())
        }
        fn location(&self) -> Option<Location> {
            Some(Location { file: "data/a.skeleton".into(), line: Some(3), column: None })
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("Cannot read `x`: {source}")]
    struct Twice {
        source: std::io::Error,
    }

    #[test]
    fn hints_and_locations_survive_boxing() {
        let boxed: BoxError = Box::new(Diagnostic::new(Bad));
        let failure = Failure::from_error(boxed.as_ref(), &diagnostic_probe);
        assert_eq!(failure.message, "`data/a.skeleton` line 3: expected 25 joints");
        assert_eq!(failure.hint.as_deref(), Some("Re-export the file"));
        assert_eq!(failure.location.map(|l| l.to_string()).as_deref(), Some("data/a.skeleton:3"));
        assert!(failure.causes.is_empty());
    }

    #[test]
    fn a_cause_the_message_already_says_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let failure = Failure::from_error(&Twice { source: io }, &diagnostic_probe);
        assert_eq!(failure.one_line(), "Cannot read `x`: No such file or directory");
        assert!(failure.causes.is_empty(), "{failure:?}");
        let outer = Diagnostic::with_hint(Failure::message("outer").one_line(), "try again");
        let failure = Failure::from_error(&outer, &diagnostic_probe);
        assert_eq!(failure.hint.as_deref(), Some("try again"));
    }
}
