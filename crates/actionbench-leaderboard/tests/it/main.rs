mod checks;
mod definitions;
mod reports;
