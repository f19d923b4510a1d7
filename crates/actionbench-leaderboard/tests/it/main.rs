//! Leaderboard integration tests: benchmark definitions, checks and reports.

mod checks;
mod definitions;
mod reports;
