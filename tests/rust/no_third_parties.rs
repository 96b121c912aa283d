//! The product contacts no one but itself: no ICE server, font, script,
//! image or analytics from another host. This test reads the web client,
//! the deployment configuration and the code of every function and fails on
//! any host name that is not the product's own, a placeholder or AWS, the
//! platform the product runs on.

use std::path::{Path, PathBuf};

/// Files and directories, relative to the repository root, that the
/// product serves, deploys or runs.
const SCANNED: [&str; 6] = [
    "web",
    "infra",
    "samconfig.toml",
    "functions",
    "shared/src",
    ".ci",
];

/// URL schemes after which a host follows.
const SCHEMES: [&str; 7] = [
    "https://", "http://", "wss://", "ws://", "stun:", "turn:", "turns:",
];

/// Hosts allowed besides placeholders and loopback, with the only file
/// allowed to name each. The TURN relay's setup reads from EC2's instance metadata
/// service the instance's own public address.
const ALLOWED: [(&str, &str); 1] = [("169.254.169.254", "infra/turn/setup")];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies in the repository")
        .to_owned()
}

/// Collects the text files under `path`, skipping build outputs.
fn files(path: &Path, into: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap().path();
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            if name != "target" && name != "node_modules" {
                files(&entry, into);
            }
        }
    } else if std::fs::read_to_string(path).is_ok_and(|text| !text.contains('\0')) {
        into.push(path.to_owned());
    }
}

/// Returns the hosts that follow a URL scheme in `text`.
fn hosts(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for scheme in SCHEMES {
        for (index, _) in text.match_indices(scheme) {
            let rest = &text[index + scheme.len()..];
            let host: String = rest
                .chars()
                .take_while(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '$' | '{' | '}')
                })
                .collect();
            if !host.is_empty() {
                found.push(host.to_ascii_lowercase());
            }
        }
    }
    found
}

/// True for names that reach nothing or only the product itself:
/// reserved example names (RFC 2606, RFC 6761), loopback, template and
/// format placeholders, and AWS endpoints of the product's own account.
fn is_own_or_placeholder(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let reserved = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    reserved("example")
        || reserved("example.org")
        || reserved("example.com")
        || reserved("example.net")
        || reserved("test")
        || reserved("localhost")
        || reserved("invalid")
        || reserved("amazonaws.com")
        || host.starts_with("127.")
        || host.contains('$')
        || host.contains('{')
        || !host.contains('.')
}

#[test]
fn host_check_rejects_foreign_names() {
    let text = "stun:stun.l.google.com:19302 https://fonts.googleapis.com/css https://video.example.org turn:turn.example.org http://127.0.0.1:8080 https://${Domain}";
    let foreign: Vec<String> = hosts(text)
        .into_iter()
        .filter(|host| !is_own_or_placeholder(host))
        .collect();
    assert_eq!(foreign, vec!["fonts.googleapis.com", "stun.l.google.com"]);
}

#[test]
fn product_names_no_other_host() {
    let root = repo_root();
    let mut scanned = Vec::new();
    for path in SCANNED {
        files(&root.join(path), &mut scanned);
    }
    assert!(scanned.len() > 40, "too few files found: {}", scanned.len());
    let mut foreign = Vec::new();
    for path in &scanned {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        for host in hosts(&text) {
            let allowed_here = ALLOWED
                .iter()
                .any(|(name, file)| host == *name && relative == *file);
            if !is_own_or_placeholder(&host) && !allowed_here {
                foreign.push(format!("{relative}: {host}"));
            }
        }
    }
    assert!(
        foreign.is_empty(),
        "hosts other than the product's own:\n{}",
        foreign.join("\n")
    );
}

#[test]
fn web_client_loads_nothing_from_absolute_urls() {
    let mut web = Vec::new();
    files(&repo_root().join("web"), &mut web);
    for path in web {
        let text = std::fs::read_to_string(&path).unwrap();
        for pattern in [
            "src=\"//",
            "href=\"//",
            "url(//",
            "url(\"//",
            "@import \"http",
            "@import url(",
        ] {
            assert!(
                !text.contains(pattern),
                "{} loads from another origin: {pattern}",
                path.display()
            );
        }
    }
}
