//! The HTTP API: wire types shared by the server and the client tools.

pub mod wire;
