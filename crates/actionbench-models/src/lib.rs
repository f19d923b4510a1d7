//! Burn models: ST-GCN and LART.
