use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong when running stages on SLURM.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A job file could not be written.
    #[error("Cannot write `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A SLURM command could not be started.
    #[error("cannot run `{tool}`: {source}")]
    Tool {
        /// `sbatch`, `squeue`, `sacct` or `scancel`.
        tool: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `sbatch` refused a job.
    #[error("sbatch refused the job of stage `{stage}`: {message}")]
    Submit {
        /// The stage.
        stage: String,
        /// What sbatch said.
        message: String,
    },
    /// The pipeline could not be read.
    #[error(transparent)]
    Pipeline(#[from] actionbench_pipeline::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

impl actionbench_core::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Tool { .. } => Some(
                "`--executor slurm` runs sbatch, squeue and scancel: run it on a machine of the cluster (a login \
                 node), with SLURM's commands on PATH"
                    .into(),
            ),
            // sbatch found no cluster: no slurm.conf, no DNS SRV record, or
            // a controller that does not answer.
            Error::Submit { message, .. }
                if ["configuration source", "slurm.conf", "controller"].iter().any(|m| message.contains(m)) =>
            {
                Some(
                    "no SLURM cluster answers here: run on a login node of the cluster, or point SLURM_CONF at its \
                     slurm.conf (`sinfo` should list its partitions)"
                        .into(),
                )
            }
            Error::Submit { .. } => Some(
                "check the stage's `resources` (partition, time, mem) against the cluster's limits (`sinfo`, \
                 `scontrol show partition`); jobs submitted before it were cancelled"
                    .into(),
            ),
            Error::Pipeline(e) => e.hint(),
            Error::Io { .. } => None,
        }
    }

    fn location(&self) -> Option<actionbench_core::Location> {
        match self {
            Error::Pipeline(e) => e.location(),
            _ => None,
        }
    }
}
