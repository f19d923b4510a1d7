//! The Burn trainer: optimisers, schedules, checkpoints, multi-task losses, and the train/predict stage kinds.
