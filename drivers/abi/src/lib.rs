//! Register map and job formats shared by the RTL (hdl/) and the drivers.
