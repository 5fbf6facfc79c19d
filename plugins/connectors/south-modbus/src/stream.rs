//! The TCP stream under the Modbus client, which remembers whether the server closed it.
//! tokio-modbus reports a connection the server closed with the thread's last OS error, which
//! says something unrelated ("Operation now in progress (os error 115)"); the connector says
//! "the server closed the connection" instead.

use oibus_plugin_api::tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

/// A TCP stream, and whether a read found its end.
#[derive(Debug)]
pub struct Watched {
    inner: TcpStream,
    closed: Arc<AtomicBool>,
}

impl Watched {
    /// Wraps `inner`; the flag returned says whether the server closed it.
    pub fn new(inner: TcpStream) -> (Self, Arc<AtomicBool>) {
        let closed = Arc::new(AtomicBool::new(false));
        (
            Self {
                inner,
                closed: closed.clone(),
            },
            closed,
        )
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled
            && buf.filled().len() == before
            && buf.remaining() > 0
        {
            self.closed.store(true, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    #[tokio::test]
    async fn a_stream_the_peer_closes_says_so() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (mut watched, closed) = Watched::new(client.unwrap());
        assert!(!closed.load(Ordering::Relaxed));
        drop(server.unwrap());
        let mut byte = [0u8; 1];
        assert_eq!(watched.read(&mut byte).await.unwrap(), 0);
        assert!(closed.load(Ordering::Relaxed));
    }
}
