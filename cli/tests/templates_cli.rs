//! `cloudsage templates FILE`: runs the built binary on a small file and
//! checks the `line_number<TAB>template_id<TAB>template` output.

use std::io::Write;
use std::process::{Command, Stdio};

const LOG: &str = "\
081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block blk_38865049064139660 terminating
081109 203807 222 INFO dfs.DataNode$PacketResponder: PacketResponder 0 for block blk_-6952295868487656571 terminating
081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864
081109 204015 308 INFO dfs.DataNode$PacketResponder: PacketResponder 2 for block blk_8229193803249955061 terminating
";

fn check(out: &str) {
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 4, "{out}");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 3, "three tab-separated columns: {r:?}");
        assert_eq!(r[0], (i + 1).to_string());
        assert_eq!(r[1].len(), 16);
        assert!(r[1].bytes().all(|c| c.is_ascii_hexdigit()), "{}", r[1]);
    }
    let responder = "PacketResponder <*> for block blk_<*> terminating";
    for i in [0, 1, 3] {
        assert_eq!(rows[i][2], responder);
        assert_eq!(rows[i][1], rows[0][1], "identical templates share the id");
    }
    assert!(rows[2][2].starts_with("BLOCK* NameSystem.addStoredBlock"));
    assert_ne!(rows[2][1], rows[0][1]);
}

#[test]
fn templates_file_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hdfs.log");
    std::fs::write(&path, LOG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cloudsage"))
        .arg("templates")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&String::from_utf8(out.stdout).unwrap());

    let mut child = Command::new(env!("CARGO_BIN_EXE_cloudsage"))
        .args(["templates", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(LOG.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    check(&String::from_utf8(out.stdout).unwrap());
}
