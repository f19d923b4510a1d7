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

/// `SELECT *` over a skeleton table: the table shows each tensor as its
/// type and shape, the CSV is valid (it used to fail on nested types) and
/// can carry every value as JSON.
#[test]
fn sql_summarises_tensor_columns() {
    let p = Project::new();
    p.write("data/S001C002P003R002A013.skeleton", &crate::inspect::skeleton_text());
    p.write(
        "pipelines/n.toml",
        "[stages.ntu]\nuses = \"ingest.ntu\"\ninputs = [\"data\"]\nparams = { dataset = \"ntu60\" }\n",
    );
    p.ok(&["run", "n"]);
    let table = p.ok(&["sql", "SELECT * FROM n.ntu"]).stdout;
    assert!(table.contains(" float32[2, 1, 25, 3] "), "{table}");
    assert!(table.lines().all(|l| l.chars().count() < 1500), "no cell prints a whole tensor:\n{table}");
    assert!(table.contains("S001C002P003R002A013"), "{table}");

    let rows = |csv_text: &str| {
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("valid CSV")).collect();
        (header, rows)
    };
    let (header, summary) = rows(&p.ok(&["sql", "SELECT * FROM n.ntu", "--format", "csv"]).stdout);
    let joints = header.iter().position(|h| h == "joints").unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(&summary[0][joints], "float32[2, 1, 25, 3]");

    let (_, full) = rows(&p.ok(&["sql", "SELECT * FROM n.ntu", "--format", "csv", "--tensors", "json"]).stdout);
    let cell: serde_json::Value = serde_json::from_str(&full[0][joints]).unwrap();
    assert_eq!(cell["shape"], serde_json::json!([2, 1, 25, 3]));
    assert_eq!(cell["data"].as_array().unwrap().len(), 2 * 25 * 3);

    // JSON output keeps the values.
    let doc: serde_json::Value =
        serde_json::from_str(&p.ok(&["sql", "SELECT joints FROM n.ntu", "--format", "json"]).stdout).unwrap();
    assert_eq!(doc[0]["joints"]["data"].as_array().unwrap().len(), 2 * 25 * 3);
}

/// Lists that are not tensors: short ones print whole, long ones are cut
/// in tables (with their length) and written whole, as JSON, in CSV.
#[test]
fn sql_prints_nested_values_readably() {
    let p = project();
    let q = "SELECT make_array(1, 2, 3) AS short, range(200) AS long";
    let table = p.ok(&["sql", q]).stdout;
    assert!(table.contains("| [1, 2, 3] "), "{table}");
    assert!(table.contains("… (200 items)"), "{table}");
    assert!(table.lines().all(|l| l.chars().count() < 200), "{table}");
    let csv_text = p.ok(&["sql", q, "--format", "csv"]).stdout;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[0], "[1,2,3]");
    let long: Vec<i64> = serde_json::from_str(&row[1]).unwrap();
    assert_eq!(long, (0..200).collect::<Vec<_>>());
}
