//! The role matrix written out: for every resource of every area, what each role may do with it. The table is
//! the specification; the areas' policies (`kernel::auth::Resource::new`) must agree with it cell by cell, and
//! every resource an area declares must have its row, so that a new area cannot ship without saying here who
//! may do what.

use kernel::{Action, Role, auth::role_allows};

/// resource → per role (in the order of `Role::ALL`) the actions allowed: R read, C create, U update, D delete, `-` not.
#[rustfmt::skip]
const MATRIX: &[(&str, [&str; 8])] = &[
    //                      admin   leader  monitor enforce solid   petition street  public
    ("organisation",      ["RCUD", "R---", "R---", "R---", "R---", "R---", "R---", "R---"]),
    ("enterprise",        ["RCUD", "R---", "R---", "RCU-", "RCU-", "R---", "RCU-", "----"]),
    ("monitoring_point",  ["RCUD", "R---", "RCU-", "R---", "R---", "R---", "R---", "R---"]),
    ("device",            ["RCUD", "R---", "RCU-", "R---", "R---", "----", "----", "----"]),
    ("user",              ["RCUD", "----", "----", "----", "----", "----", "----", "----"]),
    ("audit_log",         ["RCUD", "----", "----", "----", "----", "----", "----", "----"]),
    ("complaint",         ["RCUD", "R---", "----", "RCU-", "R---", "RCU-", "RCU-", "----"]),
    ("duty_roster",       ["RCUD", "R---", "R---", "R---", "R---", "RCUD", "R---", "----"]),
    ("reading",           ["RCUD", "R---", "RCU-", "R---", "R---", "R---", "R---", "R---"]),
    ("data_audit",        ["RCUD", "R---", "RCU-", "----", "----", "----", "----", "----"]),
    ("alarm",             ["RCUD", "R---", "RCU-", "RCU-", "R---", "R---", "R---", "----"]),
    ("target",            ["RCUD", "R---", "RCU-", "R---", "R---", "R---", "R---", "R---"]),
    ("bulletin",          ["RCUD", "R---", "RCU-", "R---", "R---", "R---", "R---", "----"]),
    ("working_calendar",  ["RCUD", "R---", "R---", "R---", "R---", "R---", "R---", "----"]),
];

const ACTIONS: [(Action, char); 4] = [
    (Action::Read, 'R'),
    (Action::Create, 'C'),
    (Action::Update, 'U'),
    (Action::Delete, 'D'),
];

#[test]
fn every_policy_matches_the_table() {
    let mut disagreements = Vec::new();
    for resource in areas::resources() {
        let Some((_, row)) = MATRIX.iter().find(|(name, _)| *name == resource.name) else {
            disagreements.push(format!("{}: no row in the table", resource.name));
            continue;
        };
        for (role, cell) in Role::ALL.iter().zip(row) {
            assert_eq!(cell.len(), 4, "{}: cell {cell:?}", resource.name);
            for ((action, letter), written) in ACTIONS.iter().zip(cell.chars()) {
                let expected = written == *letter;
                assert!(
                    written == *letter || written == '-',
                    "{}: cell {cell:?} must be RCUD or -",
                    resource.name
                );
                if role_allows(*role, resource, *action) != expected {
                    disagreements.push(format!(
                        "{} × {} × {action:?}: table says {expected}",
                        resource.name,
                        role.as_str()
                    ));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn every_row_names_a_declared_resource_once() {
    let declared: Vec<_> = areas::resources().map(|r| r.name).collect();
    for (name, _) in MATRIX {
        assert!(
            declared.contains(name),
            "{name}: in the table, declared by no area"
        );
    }
    let mut unique = declared.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        declared.len(),
        "a resource declared twice: {declared:?}"
    );
}
