//! `actionbench sql`: output formats, error positions, exit codes.

use crate::harness::Project;

fn project() -> Project {
    let p = Project::new();
    p.write("data/a.csv", "x\n1\n").write("data/b.csv", "x\n2\n").write("data/c.txt", "3\n");
    p.write("pipelines/inv.toml", "[stages.files]\nuses = \"files.manifest\"\ninputs = [\"data\"]\n");
    p.ok(&["run", "inv"]);
    p
}

#[test]
fn sql_prints_tables_csv_and_json() {
    let p = project();
    let tables = p.ok(&["sql", "SHOW TABLES"]).stdout;
    assert!(tables.contains("| inv ") && tables.contains("| files "), "{tables}");
    let q = "SELECT path, size FROM inv.files WHERE path LIKE '%.csv' ORDER BY path";
    assert_eq!(p.ok(&["sql", q, "--format", "csv"]).stdout, "path,size\ndata/a.csv,4\ndata/b.csv,4\n");
    let doc: serde_json::Value = serde_json::from_str(&p.ok(&["sql", q, "--format", "json"]).stdout).unwrap();
    assert_eq!(doc[1]["path"], "data/b.csv");
    let table = p.ok(&["sql", "SELECT count(*) AS n FROM inv.files"]).stdout;
    assert!(table.contains("| n |") && table.contains("| 3 |"), "{table}");
}

#[test]
fn sql_typo_points_at_the_position() {
    let p = project();
    let r = p.run(&["sql", "SELECT path FROM inv.files WHERE size > > 1"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    assert!(r.stderr.contains("Line: 1, Column: 41"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("SELECT path FROM inv.files WHERE size > > 1\n{}^", " ".repeat(40))),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint: "), "{}", r.stderr);
    let r = p.run(&["sql", "SELECT * FROM inv.nope"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("inv.nope"), "{}", r.stderr);
}
