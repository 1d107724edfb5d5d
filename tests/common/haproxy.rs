//! HAProxy from Debian in front of the test's `oneauth serve` nodes, as an
//! operator would run it: round robin over the nodes, health checks on
//! `/readyz` (a node answering 503 is taken out within half a second), a
//! connection that fails is retried on another node. For the tests, a
//! request with `x-test-node: N` goes to node N alone (to watch one node
//! through the same front door).

use std::process::{Child, Command, Stdio};

pub struct Haproxy {
    child: Child,
    _dir: tempfile::TempDir,
    pub port: u16,
}

impl Haproxy {
    /// Listen on `port`, balancing over `nodes` (their ports on 127.0.0.1).
    pub async fn start(port: u16, nodes: &[u16]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = format!(
            "global\n\
             \tmaxconn 4096\n\
             defaults\n\
             \tmode http\n\
             \ttimeout connect 2s\n\
             \ttimeout client 30s\n\
             \ttimeout server 30s\n\
             \tretries 3\n\
             \toption redispatch\n\
             \tretry-on conn-failure\n\
             \toption http-server-close\n\
             frontend web\n\
             \tbind 127.0.0.1:{port}\n\
             \toption forwardfor\n"
        );
        for n in 1..=nodes.len() {
            config.push_str(&format!(
                "\tuse_backend node{n} if {{ req.hdr(x-test-node) -m str {n} }}\n"
            ));
        }
        config.push_str(
            "\tdefault_backend nodes\n\
             backend nodes\n\
             \tbalance roundrobin\n\
             \toption httpchk GET /readyz\n\
             \thttp-check expect status 200\n\
             \tdefault-server inter 200ms fall 2 rise 2\n",
        );
        for (n, node) in nodes.iter().enumerate() {
            config.push_str(&format!("\tserver n{} 127.0.0.1:{node} check\n", n + 1));
        }
        for (n, node) in nodes.iter().enumerate() {
            config.push_str(&format!(
                "backend node{}\n\tserver n{} 127.0.0.1:{node}\n",
                n + 1,
                n + 1
            ));
        }
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let binary = ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
            .into_iter()
            .find(|path| std::path::Path::new(path).is_file())
            .expect("HAProxy is installed (scripts/setup.sh installs it from Debian)");
        let child = Command::new(binary)
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start HAProxy");
        let proxy = Self {
            child,
            _dir: dir,
            port,
        };
        for _ in 0..100 {
            if let Ok(answer) = reqwest::get(format!("{}/readyz", proxy.address())).await
                && answer.status() == 200
            {
                return proxy;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("HAProxy did not start");
    }

    /// `http://localhost:PORT`: the nodes' public URL.
    pub fn address(&self) -> String {
        format!("http://localhost:{}", self.port)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
