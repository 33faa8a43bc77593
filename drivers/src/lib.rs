//! The one interface to a Tollgate accelerator.
