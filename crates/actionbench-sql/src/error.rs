use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong registering tables or running a query.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query does not parse or plan; `line`/`column` point into it
    /// when DataFusion says where.
    #[error("{message}")]
    Query {
        /// DataFusion's message.
        message: String,
        /// 1-based line in the query.
        line: Option<usize>,
        /// 1-based column in the query.
        column: Option<usize>,
    },
    /// A table could not be registered.
    #[error("Cannot register `{table}` from `{}`: {message}", path.display())]
    Register {
        /// The table name.
        table: String,
        /// Its files.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Reading the project (lock files, shard indexes) failed.
    #[error(transparent)]
    Pipeline(#[from] actionbench_pipeline::Error),
    /// A shard index is invalid or a shard is corrupt.
    #[error(transparent)]
    Shards(#[from] actionbench_shards::Error),
    /// Formatting results failed.
    #[error("Cannot format the result: {0}")]
    Output(String),
}

impl Error {
    /// A query error from DataFusion, with the position it names (sqlparser
    /// writes `Line: L, Column: C`).
    pub(crate) fn query(e: datafusion::error::DataFusionError) -> Self {
        let message = e.strip_backtrace();
        let find = |tag: &str| -> Option<usize> {
            let at = message.find(tag)? + tag.len();
            let digits: String = message[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let (line, column) = (find("Line: "), find("Column: "));
        Error::Query { message, line, column }
    }

    /// The query with a caret under the error position, when known.
    pub fn pointer(&self, query: &str) -> Option<String> {
        let Error::Query { line: Some(line), column: Some(column), .. } = self else { return None };
        let text = query.lines().nth(line.saturating_sub(1))?;
        Some(format!("{text}\n{}^", " ".repeat(column.saturating_sub(1))))
    }
}
