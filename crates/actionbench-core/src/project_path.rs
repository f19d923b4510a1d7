use std::fmt;
use std::path::{Component, Path, PathBuf};

/// Why a path from a pipeline file or a dataset was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    /// The path is empty.
    #[error("the path is empty")]
    Empty,
    /// The path is absolute where only project-relative paths are allowed.
    #[error("`{0}` is absolute; only paths relative to the project root are allowed here")]
    Absolute(String),
    /// The path climbs out of its root with `..`.
    #[error("`{0}` leaves the project directory (`..` is not allowed)")]
    Escapes(String),
}

/// A path relative to a root that cannot leave it: no `..`, no root or
/// prefix component. Anything read from a pipeline file or a dataset that
/// names a place to write goes through this type, so path traversal is
/// rejected at the door.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectPath(String);

impl ProjectPath {
    /// Checks and normalises `raw` (`./a//b/` becomes `a/b`).
    pub fn new(raw: &str) -> Result<Self, PathError> {
        if raw.trim().is_empty() {
            return Err(PathError::Empty);
        }
        let path = Path::new(raw);
        let mut parts: Vec<String> = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => return Err(PathError::Escapes(raw.to_string())),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(PathError::Absolute(raw.to_string()));
                }
            }
        }
        if parts.is_empty() {
            return Err(PathError::Empty);
        }
        Ok(Self(parts.join("/")))
    }

    /// The normalised relative form, with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This path under `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        root.join(&self.0)
    }
}

impl fmt::Display for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProjectPath({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_rejects_escapes() {
        assert_eq!(ProjectPath::new("./a//b/").unwrap().as_str(), "a/b");
        assert_eq!(ProjectPath::new("a/../b"), Err(PathError::Escapes("a/../b".into())));
        assert_eq!(ProjectPath::new("../x"), Err(PathError::Escapes("../x".into())));
        assert_eq!(ProjectPath::new("/etc/passwd"), Err(PathError::Absolute("/etc/passwd".into())));
        assert_eq!(ProjectPath::new(""), Err(PathError::Empty));
        assert_eq!(ProjectPath::new("."), Err(PathError::Empty));
    }
}
