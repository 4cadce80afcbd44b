//! Every statement a request or an event runs is served by an index: its
//! `EXPLAIN QUERY PLAN` has no `SCAN` of a table that grows with use.
//!
//! The rule: a `SEARCH` (an index or key lookup, or a range on one) is fine; a
//! `SCAN` is fine only of a table that stays tiny (`meta`, SQLite's own
//! `sqlite_sequence`) or of a covering index (the metrics' counts by status and
//! origin read a narrow index, never the rows); a temp b-tree that sorts what
//! a search found is fine. What runs at open, in a migration, or in a full
//! resync (which must read every space by nature) is listed apart, with why.

use rusqlite::types::Value;

use crate::store::{open, sql};

/// Tables that stay a handful of rows whatever the load.
const TINY: &[&str] = &["meta", "sqlite_sequence", "schema_version"];

/// Statements run per API request, per Mercury event, or per outbox/expiry turn.
const PER_CALL: &[(&str, &str)] = &[
    ("SELECT_PENDING_POSTED", sql::SELECT_PENDING_POSTED),
    ("SELECT_SPACE_BY_ID_OR_UUID", sql::SELECT_SPACE_BY_ID_OR_UUID),
    ("SELECT_SPACE_BY_ID", sql::SELECT_SPACE_BY_ID),
    ("SELECT_VISIBLE_SPACES_BY_UUID", sql::SELECT_VISIBLE_SPACES_BY_UUID),
    ("SELECT_VISIBLE_SPACES_PAGE", sql::SELECT_VISIBLE_SPACES_PAGE),
    ("SELECT_ANY_SPACES_PAGE", sql::SELECT_ANY_SPACES_PAGE),
    ("INSERT_SPACE", sql::INSERT_SPACE),
    ("REVIVE_SPACE", sql::REVIVE_SPACE),
    ("UPDATE_SPACE", sql::UPDATE_SPACE),
    ("MARK_SPACE_REMOVED", sql::MARK_SPACE_REMOVED),
    ("INSERT_ACTIVITY", sql::INSERT_ACTIVITY),
    ("SELECT_ACTIVITY", sql::SELECT_ACTIVITY),
    ("DELETE_ACTIVITIES_BEFORE", sql::DELETE_ACTIVITIES_BEFORE),
    ("INSERT_EVENT", sql::INSERT_EVENT.sqlite),
    ("SELECT_EVENTS_AFTER", sql::SELECT_EVENTS_AFTER),
    ("SELECT_LATEST_SEQ", sql::SELECT_LATEST_SEQ.sqlite),
    ("SELECT_OLDEST_SEQ", sql::SELECT_OLDEST_SEQ),
    ("DELETE_EVENTS_BEFORE", sql::DELETE_EVENTS_BEFORE),
    ("SELECT_ESCALATION", sql::SELECT_ESCALATION),
    ("SELECT_ESCALATION_STATUS", sql::SELECT_ESCALATION_STATUS),
    ("SELECT_ESCALATION_BY_KEY", sql::SELECT_ESCALATION_BY_KEY),
    ("SELECT_ESCALATIONS_PAGE", sql::SELECT_ESCALATIONS_PAGE),
    ("SELECT_ESCALATIONS_PAGE_BY_STATUS", sql::SELECT_ESCALATIONS_PAGE_BY_STATUS),
    ("SELECT_ESCALATIONS_PAGE_BY_SPACE", sql::SELECT_ESCALATIONS_PAGE_BY_SPACE),
    ("SELECT_ESCALATIONS_PAGE_BY_SPACE_STATUS", sql::SELECT_ESCALATIONS_PAGE_BY_SPACE_STATUS),
    ("SELECT_PENDING_DUE", sql::SELECT_PENDING_DUE),
    ("SELECT_PENDING_IN_ROOM", sql::SELECT_PENDING_IN_ROOM),
    ("SELECT_NEXT_EXPIRY", sql::SELECT_NEXT_EXPIRY),
    ("SELECT_REMINDERS_DUE", sql::SELECT_REMINDERS_DUE),
    ("SELECT_NEXT_REMINDER", sql::SELECT_NEXT_REMINDER),
    ("SCHEDULE_POLICY", sql::SCHEDULE_POLICY),
    ("SELECT_FALLBACKS_DUE", sql::SELECT_FALLBACKS_DUE),
    ("SELECT_NEXT_FALLBACK", sql::SELECT_NEXT_FALLBACK),
    ("RECORD_FALLBACK", sql::RECORD_FALLBACK),
    ("RECORD_FALLBACK_ERROR", sql::RECORD_FALLBACK_ERROR),
    ("CLAIM_ESCALATION", sql::CLAIM_ESCALATION),
    ("SELECT_CLAIMS_DUE", sql::SELECT_CLAIMS_DUE),
    ("SELECT_NEXT_CLAIM_EXPIRY", sql::SELECT_NEXT_CLAIM_EXPIRY),
    ("RELEASE_CLAIM", sql::RELEASE_CLAIM),
    ("RECORD_REMINDER", sql::RECORD_REMINDER),
    ("PASS_DEADLINE", sql::PASS_DEADLINE),
    ("COUNT_ESCALATIONS_BY_STATUS", sql::COUNT_ESCALATIONS_BY_STATUS),
    ("SELECT_OLDEST_PENDING", sql::SELECT_OLDEST_PENDING),
    ("INSERT_ESCALATION", sql::INSERT_ESCALATION),
    ("RECORD_DELIVERY", sql::RECORD_DELIVERY),
    ("RECORD_DELIVERY_ATTEMPT", sql::RECORD_DELIVERY_ATTEMPT),
    ("RECORD_DELIVERY_FAILED", sql::RECORD_DELIVERY_FAILED),
    ("CLOSE_ESCALATION", sql::CLOSE_ESCALATION),
    ("REPLACE_CARD_MESSAGE", sql::REPLACE_CARD_MESSAGE),
    ("INSERT_JOB", sql::INSERT_JOB),
    ("CLAIM_JOBS", sql::CLAIM_JOBS.sqlite),
    ("START_JOB", sql::START_JOB),
    ("SELECT_NEXT_JOB_AT", sql::SELECT_NEXT_JOB_AT),
    ("DELETE_JOB", sql::DELETE_JOB),
    ("RESCHEDULE_JOB", sql::RESCHEDULE_JOB),
    ("COUNT_JOBS", sql::COUNT_JOBS),
    ("SELECT_META", sql::SELECT_META),
    ("INSERT_META", sql::INSERT_META),
    ("UPSERT_META", sql::UPSERT_META),
    ("INSERT_AUDIT", sql::INSERT_AUDIT),
    ("SELECT_AUDIT", sql::SELECT_AUDIT),
    ("DELETE_AUDIT_BEFORE", sql::DELETE_AUDIT_BEFORE),
    ("INSERT_CARD", sql::INSERT_CARD),
    ("SELECT_CARD", sql::SELECT_CARD),
    ("SELECT_CARDS_OF", sql::SELECT_CARDS_OF),
    ("DELETE_CARD", sql::DELETE_CARD),
    ("COUNT_CARDS_BY_ORIGIN", sql::COUNT_CARDS_BY_ORIGIN),
    ("INSERT_REPLY", sql::INSERT_REPLY),
    ("COUNT_REPLIES_OF", sql::COUNT_REPLIES_OF),
    ("SELECT_NOTIFICATION", sql::SELECT_NOTIFICATION),
    ("INSERT_NOTIFICATION", sql::INSERT_NOTIFICATION),
    ("RECLAIM_NOTIFICATION", sql::RECLAIM_NOTIFICATION),
    ("MARK_NOTIFICATION_SENT", sql::MARK_NOTIFICATION_SENT),
    ("DELETE_NOTIFICATION", sql::DELETE_NOTIFICATION),
    ("DELETE_NOTIFICATIONS_BEFORE", sql::DELETE_NOTIFICATIONS_BEFORE),
    ("STAGE_SYNC_ROOM", sql::STAGE_SYNC_ROOM),
    ("SELECT_SYNC_ROOMS", sql::SELECT_SYNC_ROOMS),
    ("DELETE_SYNC_ROOMS", sql::DELETE_SYNC_ROOMS),
    ("RECORD_COUNTERPART", sql::RECORD_COUNTERPART),
    ("SELECT_DIRECT_SPACE_BY_PERSON_ID", sql::SELECT_DIRECT_SPACE_BY_PERSON_ID),
    ("SELECT_DIRECT_SPACE_BY_PERSON_EMAIL", sql::SELECT_DIRECT_SPACE_BY_PERSON_EMAIL.sqlite),
];

/// Statements that may scan, and why that is right for them.
const APART: &[(&str, &str, &str)] = &[
    ("SELECT_SPACES_NOT_SYNCED", sql::SELECT_SPACES_NOT_SYNCED, "a full resync compares every visible space"),
    ("SELECT_SPACE_TITLES", sql::SELECT_SPACE_TITLES, "the v5 migration folds every title once"),
    ("DELETE_ALL_SYNC_ROOMS", sql::DELETE_ALL_SYNC_ROOMS, "at open, of a table emptied by every sync"),
    (
        "SELECT_COUNTERPARTS_DUE",
        sql::SELECT_COUNTERPARTS_DUE,
        "once a resync, in order along a partial index of the due direct spaces only, stopped by its LIMIT",
    ),
];

/// The plan's lines, as `EXPLAIN QUERY PLAN` gives them.
fn plan(conn: &rusqlite::Connection, statement: &str) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {statement}")).expect("explain prepares");
    let nulls = vec![Value::Null; stmt.parameter_count()];
    let rows = stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).expect("explain runs");
    rows.collect::<rusqlite::Result<_>>().expect("plan rows")
}

/// A line that reads a growing table row by row.
fn scans_a_large_table(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("SCAN ") else { return false };
    let table = rest.split_whitespace().next().unwrap_or_default();
    !(TINY.contains(&table) || rest.contains("USING COVERING INDEX"))
}

#[test]
fn every_per_call_statement_is_served_by_an_index() {
    let conn = open::open_memory().expect("schema");
    let offenders: Vec<String> = PER_CALL
        .iter()
        .filter_map(|(name, statement)| {
            let lines = plan(&conn, statement);
            lines.iter().any(|l| scans_a_large_table(l)).then(|| format!("{name}: {lines:?}"))
        })
        .collect();
    assert!(offenders.is_empty(), "statements that scan a table:\n{}", offenders.join("\n"));
}

#[test]
fn the_lookups_that_were_scans_now_search_their_index() {
    let conn = open::open_memory().expect("schema");
    let uses = |statement: &str, index: &str| plan(&conn, statement).iter().any(|l| l.contains(index));
    assert!(uses(sql::SELECT_ESCALATION_BY_KEY, "sqlite_autoindex_escalations"));
    assert!(uses(sql::SELECT_ESCALATIONS_PAGE_BY_STATUS, "escalations_status"));
    assert!(uses(sql::SELECT_ESCALATIONS_PAGE_BY_SPACE_STATUS, "escalations_space_status"));
    assert!(uses(sql::SELECT_VISIBLE_SPACES_PAGE, "spaces_title"));
    assert!(uses(sql::SELECT_AUDIT, "INTEGER PRIMARY KEY"));
    assert!(uses(sql::SELECT_COUNTERPARTS_DUE, "spaces_counterpart_due"));
    assert!(uses(sql::SELECT_DIRECT_SPACE_BY_PERSON_ID, "spaces_counterpart_id"));
    assert!(uses(sql::SELECT_DIRECT_SPACE_BY_PERSON_EMAIL.sqlite, "spaces_counterpart_email"));
}

#[test]
fn the_rule_tells_a_scan_from_a_search() {
    assert!(scans_a_large_table("SCAN escalations"));
    assert!(!scans_a_large_table("SEARCH escalations USING INDEX escalations_status (status=?)"));
    assert!(!scans_a_large_table("SCAN escalations USING COVERING INDEX escalations_status"));
    assert!(!scans_a_large_table("SCAN sqlite_sequence"));
    let conn = open::open_memory().expect("schema");
    // What issue 12 found: a key checked through the filtered listing is a full scan.
    assert!(plan(&conn, sql::TEST_KEY_THROUGH_FILTERED_LISTING).iter().any(|l| scans_a_large_table(l)));
    for (name, statement, why) in APART {
        assert!(conn.prepare(statement).is_ok(), "{name} ({why}) prepares");
    }
}
