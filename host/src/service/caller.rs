//! Who sent a request: the address admission charges, and the connection that tells whether
//! the client is still there.
//!
//! actix-web does not drop a handler's future when its client disconnects, so a closed answer
//! channel does not reveal a client that has gone. The connection itself does: the HTTP layer
//! keeps a duplicate of each connection's socket (`on_connect`), and the batcher peeks at it
//! before verifying a job. The duplicate keeps the socket open while a job holds it, so the
//! peek can never land on a descriptor the kernel has since reused for another connection.

use std::io::ErrorKind;
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;

/// The sender of a request, as far as admission and liveness go. In-process callers (the
/// benchmarks) have neither an address nor a connection.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// Admission shares and failed-item debts are kept per address.
    pub addr: Option<IpAddr>,
    pub connection: Option<Connection>,
}

/// A duplicate of a client connection's socket, only ever peeked at.
#[derive(Clone, Debug)]
pub struct Connection(Arc<TcpStream>);

impl Connection {
    /// Wraps a duplicate of the connection's socket. The socket is already non-blocking (the
    /// runtime set it so, and the flag belongs to the socket, shared by both descriptors).
    pub fn new(socket: TcpStream) -> Self {
        Self(Arc::new(socket))
    }

    /// True once the client has closed or reset the connection. A client that sends its
    /// request and then half-closes its side while waiting for the answer looks gone too;
    /// HTTP/1.1 clients do not do that (servers commonly treat it as a disconnect).
    pub fn is_gone(&self) -> bool {
        let mut byte = [0u8; 1];
        match self.0.peek(&mut byte) {
            // End of stream: the client closed its side.
            Ok(0) => true,
            // A pipelined next request waits unread: the client is there.
            Ok(_) => false,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                false
            }
            Err(e) => matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
            ),
        }
    }
}

impl Caller {
    /// True if the request's client is known to have gone.
    pub fn is_gone(&self) -> bool {
        self.connection.as_ref().is_some_and(Connection::is_gone)
    }
}
