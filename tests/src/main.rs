//! `zen-standin`: runs the stand-in model provider for tests written in C,
//! Python or shell. Prints its base URL (`http://127.0.0.1:PORT`) as the first
//! line of standard output, then serves until killed (or, with
//! `--exit-on-eof`, until standard input closes).

use std::io::Write;

use zen_testkit::StandIn;

const USAGE: &str = "usage: zen-standin [--port N] [--exit-on-eof]\n\
    Serves the stand-in model provider on 127.0.0.1 and prints its base URL.";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut port = 0u16;
    let mut exit_on_eof = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(p) => port = p,
                None => fail("--port needs a number from 0 to 65535"),
            },
            "--exit-on-eof" => exit_on_eof = true,
            "-h" | "--help" => {
                let _ = writeln!(std::io::stdout(), "{USAGE}");
                return;
            }
            other => fail(&format!("unknown argument `{other}`")),
        }
    }
    let server = match StandIn::start_on(port).await {
        Ok(server) => server,
        Err(err) => fail(&format!("can't listen on 127.0.0.1:{port}: {err}")),
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", server.url());
        let _ = out.flush();
    }
    if exit_on_eof {
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        })
        .await;
    } else {
        let _ = tokio::signal::ctrl_c().await;
    }
    drop(server);
}

fn fail(message: &str) -> ! {
    eprintln!("zen-standin: {message}\n{USAGE}");
    std::process::exit(2);
}
