//! A RESP client for the tests that check Redis (an independent view: no
//! code of ours).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// One RESP command as an array of bulk strings; returns the first reply line.
pub fn redis(conn: &mut BufReader<TcpStream>, args: &[&str]) -> String {
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.get_mut().write_all(cmd.as_bytes()).unwrap();
    let mut line = String::new();
    conn.read_line(&mut line).unwrap();
    if let Some(len) = line
        .strip_prefix('$')
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        let mut value = String::new();
        conn.read_line(&mut value).unwrap();
        assert_eq!(value.trim_end().len(), len);
        return value.trim_end().to_string();
    }
    line.trim_end().to_string()
}
