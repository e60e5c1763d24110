//! Reading HTTP/1.1 requests off a connection, for the small servers tests run (the provider
//! proxy, the Lambda Runtime API).

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// One request read off a connection.
pub struct Request {
    pub method: String,
    pub path: String,
    /// Names as sent, values as bytes; `Host` and `Content-Length` included.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// The next request on `stream` (`buf` keeps what was read past it), or `None` once the peer
/// closed the connection.
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(stream, buf).await? {
            return Ok(None);
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    req.parse(&buf[..head_end]).unwrap();
    let method = req.method.unwrap_or("GET").to_owned();
    let path = req.path.unwrap_or("/").to_owned();
    let headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        if !fill(stream, buf).await? {
            return Ok(None);
        }
    }
    let body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// Reads more of the connection into `buf`; false once the peer closed it.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}
