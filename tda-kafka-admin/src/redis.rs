//! Whether a Redis server answers: `PING` → `PONG` over RESP, after `AUTH`
//! when a password is given. Used by the stack's readiness wait, `health`
//! and the console's overview.

use std::time::Duration;

use tda_kafka_config::SecretString;

/// How long one ping may take.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Redis at `host:port` answers `PING` with `PONG`, after `AUTH` when
/// `password` is given. Without a password, a server that requires one
/// answers `NOAUTH`: it runs and refuses strangers, which counts as
/// answering. `Ok` says what was seen, `Err` what is wrong; the password
/// travels only on the connection, never into either.
pub async fn ping(
    host: &str,
    port: u16,
    password: Option<&SecretString>,
) -> Result<String, String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let io = async {
        let mut s = BufReader::new(tokio::net::TcpStream::connect((host, port)).await?);
        let mut line = String::new();
        if let Some(pw) = password {
            let pw = pw.expose();
            let auth = format!("*2\r\n$4\r\nAUTH\r\n${}\r\n{pw}\r\n", pw.len());
            s.get_mut().write_all(auth.as_bytes()).await?;
            s.read_line(&mut line).await?;
            if !line.starts_with("+OK") {
                return Ok(Err(format!("AUTH answered {:?}", line.trim())));
            }
            line.clear();
        }
        s.get_mut().write_all(b"*1\r\n$4\r\nPING\r\n").await?;
        s.read_line(&mut line).await?;
        Ok::<_, std::io::Error>(Ok(line))
    };
    let line = tokio::time::timeout(PING_TIMEOUT, io)
        .await
        .map_err(|_| format!("no answer within {} s", PING_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{host}:{port}: {e}"))??;
    let line = line.trim();
    if line == "+PONG" {
        Ok("answered +PONG".into())
    } else if password.is_none() && line.starts_with("-NOAUTH") {
        Ok("answered NOAUTH (password protected)".into())
    } else {
        Err(format!("answered {line:?} instead of +PONG"))
    }
}
