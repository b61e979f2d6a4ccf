//! Slow and abusive clients over a real socket: headers trickled or never sent, a body that
//! never arrives, a connection left open at shutdown. Each is cut off by a bound, never by
//! the client's goodwill.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use switchyard_host::Service;

use crate::support::{WRITER, config, seed};

struct Server {
    runtime: tokio::runtime::Runtime,
    address: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

// A server with one-second header and request timeouts and a one-second shutdown grace.
fn start() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = config(dir.path(), 900);
    settings.header_read_timeout_secs = 1;
    settings.request_timeout_secs = 1;
    settings.shutdown_grace_secs = 1;
    let service = runtime.block_on(async {
        let service = Service::open(settings).await.unwrap();
        seed(&service).await;
        service
    });
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(switchyard_host::serve_until(Arc::clone(&service), listener, async move {
        let _ = stopped.await;
    }));
    Server { runtime, address, stop: Some(stop), served: Some(served), _dir: dir }
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(server.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

// Everything the server sends until it closes the connection.
fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let _ = stream.read_to_end(&mut received);
    String::from_utf8_lossy(&received).into_owned()
}

#[test]
fn a_client_that_trickles_its_headers_is_cut_off() {
    let server = start();
    let mut stream = connect(&server);
    stream.write_all(b"POST /v1/orders HTTP/1.1\r\nHost: switchyard\r\nX-Slow: ").unwrap();
    // Never finishes: the server closes the connection (with or without a 408 first).
    let received = read_to_close(&mut stream);
    assert!(received.is_empty() || received.starts_with("HTTP/1.1 408"), "{received}");
}

#[test]
fn an_idle_connection_is_closed() {
    let server = start();
    let mut stream = connect(&server);
    assert_eq!(read_to_close(&mut stream), "", "closed without a word");
}

#[test]
fn a_body_that_never_arrives_gets_a_408_in_the_api_shape() {
    let server = start();
    let mut stream = connect(&server);
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: switchyard\r\nAuthorization: Bearer {WRITER}\r\n\
         Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"id\": \"slow"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let received = read_to_close(&mut stream);
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(received.contains("\"code\":\"request_timeout\""), "{received}");
}

#[test]
fn a_body_over_the_limit_is_refused_before_it_is_read() {
    let server = start();
    let mut stream = connect(&server);
    // The limit is 64 KiB; the length alone refuses it, and the body is never sent.
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nHost: switchyard\r\nAuthorization: Bearer {WRITER}\r\n\
         Content-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let received = read_to_close(&mut stream);
    assert!(received.starts_with("HTTP/1.1 413"), "{received}");
    assert!(received.contains("body_too_large"), "{received}");
}

#[test]
fn shutdown_finishes_within_the_grace_period_whatever_clients_do() {
    let mut server = start();
    // A connection with a request half sent, and one idle.
    let mut slow = connect(&server);
    slow.write_all(b"POST /v1/orders HTTP/1.1\r\nHost: switchyard\r\nContent-Length: 100\r\n\r\n{").unwrap();
    let _idle = connect(&server);
    std::thread::sleep(Duration::from_millis(200));
    server.stop.take().unwrap().send(()).unwrap();
    let served = server.served.take().unwrap();
    let stopped = server.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(15), served).await });
    let outcome = stopped.expect("the server stops within its grace period");
    assert!(outcome.unwrap().is_ok());
    // Nothing is accepted any more.
    assert!(TcpStream::connect(server.address).is_err() || read_to_close(&mut connect(&server)).is_empty());
}

#[test]
fn a_path_that_does_not_parse_gets_the_api_error_shape() {
    let server = start();
    let mut stream = connect(&server);
    let request = format!(
        "GET /v1/orders/%FF%FE HTTP/1.1\r\nHost: switchyard\r\nAuthorization: Bearer {WRITER}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let received = read_to_close(&mut stream);
    assert!(received.starts_with("HTTP/1.1 400"), "{received}");
    assert!(received.contains("application/json"), "{received}");
    assert!(received.contains("\"error\""), "{received}");
}
