//! `actionbench.toml`, the project's settings file beside `pipelines/`:
//! committed with the project, so it names *where* the remote is and never
//! *who* may use it. Credentials come from the environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) or
//! the standard AWS files (`~/.aws/credentials`, `~/.aws/config`, profile
//! `AWS_PROFILE` or `default`).
//!
//! ```toml
//! [remote]
//! url = "s3://lab-bucket/actionbench"      # or "file:///shared/actionbench-remote"
//! endpoint = "http://127.0.0.1:9000"       # S3-compatible servers (MinIO, Ceph); omit for AWS
//! region = "eu-west-1"                     # default: AWS_REGION, the profile's region, us-east-1
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

/// The project settings file, at the project root.
pub const PROJECT_CONFIG_FILE: &str = "actionbench.toml";

/// `actionbench.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectConfig {
    remote: Option<RemoteConfig>,
}

/// The `[remote]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RemoteConfig {
    /// `s3://BUCKET[/PREFIX]` or `file:///ABSOLUTE/PATH`.
    pub url: String,
    /// An S3-compatible server's address (`http://` is allowed for it).
    pub endpoint: Option<String>,
    /// The S3 region.
    pub region: Option<String>,
}

/// Where a remote lives, parsed from its URL.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Location {
    /// A bucket and a key prefix (possibly empty).
    S3 { bucket: String, prefix: String },
    /// A directory (a shared file system).
    Dir(PathBuf),
}

/// Keys a user may try to put in `[remote]` that must not be there.
const CREDENTIAL_KEYS: &[&str] =
    &["access-key-id", "secret-access-key", "session-token", "access_key_id", "secret_access_key", "token", "password"];

impl RemoteConfig {
    /// Reads `[remote]` from `root/actionbench.toml`; `None` when the file
    /// or the table is absent.
    pub fn load(root: &Path) -> Result<Option<Self>> {
        let path = root.join(PROJECT_CONFIG_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Self::parse(&path, &text)
    }

    /// Parses the file's text (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Option<Self>> {
        let config: ProjectConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            let message = e.message().to_string();
            let hint = if CREDENTIAL_KEYS.iter().any(|k| message.contains(&format!("`{k}`"))) {
                "credentials never go in project files: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the \
                 environment, or use ~/.aws/credentials (profile AWS_PROFILE or `default`)"
                    .to_string()
            } else {
                let close = message
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split_once('`'))
                    .and_then(|(given, _)| actionbench_core::suggest::did_you_mean(given, ["url", "endpoint", "region", "remote"]));
                let all = "`[remote]` takes `url` (s3://BUCKET/PREFIX or file:///PATH), `endpoint` and `region` (docs/remote.md)";
                match close {
                    Some(close) => format!("{close} {all}"),
                    None => all.to_string(),
                }
            };
            Error::Config { path: path.to_path_buf(), line, column, message, hint }
        })?;
        let Some(remote) = config.remote else { return Ok(None) };
        // Checked here, so a bad URL is an error of this file, with its line.
        if let Err(message) = remote.location() {
            let line = text.lines().position(|l| l.trim_start().starts_with("url")).map_or(1, |i| i + 1);
            return Err(Error::Config {
                path: path.to_path_buf(),
                line,
                column: 1,
                message,
                hint: "write `url = \"s3://BUCKET/PREFIX\"` or `url = \"file:///ABSOLUTE/PATH\"`".into(),
            });
        }
        Ok(Some(remote))
    }

    pub(crate) fn location(&self) -> std::result::Result<Location, String> {
        if let Some(rest) = self.url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("remote url `{}` names no bucket", self.url));
            }
            let prefix = prefix.trim_matches('/').to_string();
            if prefix.split('/').any(|part| part == "." || part == "..") {
                return Err(format!("remote url `{}`: `.` and `..` are not allowed in the prefix", self.url));
            }
            return Ok(Location::S3 { bucket: bucket.to_string(), prefix });
        }
        if let Some(rest) = self.url.strip_prefix("file://") {
            let path = PathBuf::from(rest);
            if !path.is_absolute() {
                return Err(format!("remote url `{}` must name an absolute path (file:///...)", self.url));
            }
            return Ok(Location::Dir(path));
        }
        Err(format!("remote url `{}` is neither s3://BUCKET/PREFIX nor file:///PATH", self.url))
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.len(), |nl| before.len() - nl - 1) + 1;
    (line, column)
}

/// Keys from `~/.aws/credentials`: access key, secret, session token.
pub(crate) type ProfileKeys = (String, String, Option<String>);

/// S3 credentials and region from the standard AWS files (profile
/// `AWS_PROFILE` or `default`), for when the environment has none.
pub(crate) fn aws_profile() -> (Option<ProfileKeys>, Option<String>) {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    let file = |var: &str, default: &str| {
        std::env::var_os(var).map(PathBuf::from).or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
        .and_then(|p| ini::Ini::load_from_file(p).ok())
        .and_then(|ini| {
            let section = ini.section(Some(profile.as_str()))?;
            let key = section.get("aws_access_key_id")?.to_string();
            let secret = section.get("aws_secret_access_key")?.to_string();
            Some((key, secret, section.get("aws_session_token").map(str::to_string)))
        });
    // `~/.aws/config` names profiles `[profile NAME]`, except `[default]`.
    let section = if profile == "default" { profile.clone() } else { format!("profile {profile}") };
    let region = file("AWS_CONFIG_FILE", "config")
        .and_then(|p| ini::Ini::load_from_file(p).ok())
        .and_then(|ini| ini.section(Some(section.as_str()))?.get("region").map(str::to_string));
    (credentials, region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<RemoteConfig>> {
        RemoteConfig::parse(Path::new("actionbench.toml"), text)
    }

    #[test]
    fn urls() {
        let r = parse("[remote]\nurl = \"s3://b/lab/ab/\"\n").unwrap().unwrap();
        assert_eq!(r.location().unwrap(), Location::S3 { bucket: "b".into(), prefix: "lab/ab".into() });
        let r = parse("[remote]\nurl = \"file:///srv/cache\"\n").unwrap().unwrap();
        assert_eq!(r.location().unwrap(), Location::Dir("/srv/cache".into()));
        assert!(parse("").unwrap().is_none());
    }

    #[test]
    fn mistakes_name_the_line_and_credentials_are_refused() {
        let err = parse("[remote]\nurl = \"s3://b\"\nsecret-access-key = \"x\"\n").unwrap_err();
        let Error::Config { line, hint, .. } = &err else { panic!("{err}") };
        assert_eq!(*line, 3, "{err}");
        assert!(hint.contains("never go in project files"), "{hint}");
        let err = parse("[remote]\nregion = \"x\"\nurl = \"http://b\"\n").unwrap_err();
        let Error::Config { line, message, .. } = &err else { panic!("{err}") };
        assert_eq!(*line, 3, "{err}");
        assert!(message.contains("neither s3://"), "{message}");
        let err = parse("[remtoe]\nurl = \"s3://b\"\n").unwrap_err();
        assert!(err.to_string().contains("remtoe"), "{err}");
        assert!(err.to_string().starts_with("actionbench.toml:1:"), "{err}");
        let Error::Config { hint, .. } = &err else { panic!("{err}") };
        assert!(hint.starts_with("Did you mean `remote`?"), "{hint}");
        let err = parse("[remote]\nurl = \"s3://b\"\nendpont = \"http://x\"\n").unwrap_err();
        assert!(err.to_string().starts_with("actionbench.toml:3:1: unknown field `endpont`"), "{err}");
        let Error::Config { hint, .. } = &err else { panic!("{err}") };
        assert!(hint.starts_with("Did you mean `endpoint`?"), "{hint}");
    }
}
