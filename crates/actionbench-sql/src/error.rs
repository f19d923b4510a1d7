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
    /// A dataset manifest is missing, tampered with or unreadable.
    #[error(transparent)]
    Manifest(#[from] actionbench_manifest::Error),
    /// The project's remote could not be read (`sql --remote`).
    #[error(transparent)]
    Remote(Box<actionbench_remote::Error>),
    /// Formatting results failed.
    #[error("Cannot format the result: {0}")]
    Output(String),
}

impl Error {
    /// A query error from DataFusion, with the position it names (sqlparser
    /// writes `Line: L, Column: C`).
    pub(crate) fn query(e: datafusion::error::DataFusionError) -> Self {
        use datafusion::error::DataFusionError;
        use datafusion::sql::sqlparser::parser::ParserError;
        // The parser's own words, not its Rust debug form (`ParserError("…")`).
        let message = match e.find_root() {
            DataFusionError::SQL(parser, _) => match parser.as_ref() {
                ParserError::TokenizerError(text) | ParserError::ParserError(text) => {
                    format!("SQL syntax error: {text}")
                }
                other => format!("SQL syntax error: {other}"),
            },
            _ => e.strip_backtrace(),
        };
        let find = |tag: &str| -> Option<usize> {
            let at = message.find(tag)? + tag.len();
            let digits: String = message[at..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let (line, column) = (find("Line: "), find("Column: "));
        Error::Query { message, line, column }
    }

    /// A hint for the user (see [`actionbench_core::Diagnose`]).
    fn hint_text(&self) -> Option<String> {
        match self {
            Error::Query { .. } => Some(
                "`actionbench sql \"SHOW TABLES\"` lists the tables; pipeline tables are `PIPELINE.STAGE` \
                 (quote names with `-`: \"ntu60-xsub\".skeletons)"
                    .into(),
            ),
            Error::Pipeline(e) => actionbench_core::Diagnose::hint(e),
            Error::Shards(e) => actionbench_core::Diagnose::hint(e),
            Error::Manifest(e) => actionbench_core::Diagnose::hint(e),
            Error::Remote(e) => actionbench_core::Diagnose::hint(e.as_ref()),
            Error::Register { .. } | Error::Output(_) => None,
        }
    }

    /// The query with a caret under the error position, when known.
    pub fn pointer(&self, query: &str) -> Option<String> {
        let Error::Query { line: Some(line), column: Some(column), .. } = self else { return None };
        let text = query.lines().nth(line.saturating_sub(1))?;
        Some(format!("{text}\n{}^", " ".repeat(column.saturating_sub(1))))
    }
}

impl From<actionbench_remote::Error> for Error {
    fn from(e: actionbench_remote::Error) -> Self {
        Error::Remote(Box::new(e))
    }
}

impl actionbench_core::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        self.hint_text()
    }

    fn location(&self) -> Option<actionbench_core::Location> {
        match self {
            Error::Query { line, column, .. } => Some(actionbench_core::Location {
                file: "<query>".into(),
                line: line.map(|l| l as u64),
                column: column.map(|c| c as u64),
            }),
            Error::Pipeline(e) => actionbench_core::Diagnose::location(e),
            _ => None,
        }
    }
}
