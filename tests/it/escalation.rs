//! Escalation with the real `tether watch` on loopback, an update every
//! second and a webhook receiver: after N failing update cycles one
//! `escalation` event is sent (not one a cycle), again when the failure
//! changes, never while `tether ack` silences it, and `/status` and `tether
//! health` show it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::Tether;
use crate::watch::{Receiver, Watch, free_port, sample, state, wait_for};

const FAILING: &str = r#"
[baseline]
command = "{python} case.py"
timeout = "60s"

[[baseline.case]]
name = "c"
model = "m"
"#;

const BOOM: &str = "raise RuntimeError('boom')\n";
const NO_MODULE: &str = "import no_such_module_for_tether\n";

fn escalations(hook: &Receiver) -> Vec<Value> {
    hook.events()
        .into_iter()
        .filter(|e| e["event"] == "escalation")
        .collect()
}

fn failures(root: &Path) -> u64 {
    state(root)
        .and_then(|s| s["upstreams"]["sample"]["consecutive_failures"].as_u64())
        .unwrap_or(0)
}

#[test]
fn an_escalation_is_sent_once_again_when_its_evidence_changes_and_never_while_acked() {
    let port = free_port();
    let hook = Receiver::start();
    let s = sample(
        &format!(
            "{FAILING}\n[update]\nmax_attempts = 0\n\n[schedule]\nupdate = \"* * * * * *\"\n\n[service]\nlisten = \"127.0.0.1:{port}\"\nwebhook = \"http://127.0.0.1:{}/hook\"\n\n[escalation]\nconsecutive_failures = 2\nprotected_changes = false\n",
            hook.port
        ),
        &[("case.py", BOOM)],
    );
    let mut w = Watch::start(&s.root);
    let limit = Duration::from_secs(60);
    wait_for(limit, "four failed update cycles", || {
        failures(&s.root) >= 4
    });
    let sent = escalations(&hook);
    assert_eq!(sent.len(), 1, "{sent:#?}\n{}", w.log());
    let e = &sent[0];
    assert_eq!(e["escalation"]["id"], "consecutive-failures-sample");
    assert_eq!(e["escalation"]["severity"], "warning");
    assert_eq!(e["escalation"]["evidence"]["failure"], "c:unknown");
    assert!(
        e["escalation"]["evidence"]["reproduce"]
            .as_str()
            .unwrap()
            .starts_with("tether update --upstream sample"),
        "{e:#}"
    );
    let status = state(&s.root).unwrap();
    assert!(
        status["escalations"]["consecutive-failures-sample"].is_object(),
        "{status:#}"
    );
    let t = Tether {
        cwd: s.root.clone(),
        now: None,
    };
    let health = t.run(&["health", "--json", "--no-probe"]);
    let h: Value = serde_json::from_str(&health.stdout).unwrap();
    assert_eq!(
        h["attention"]["escalations"][0]["id"],
        "consecutive-failures-sample"
    );
    assert!(
        h["reasons"].as_array().unwrap().iter().any(|r| r["message"]
            .as_str()
            .unwrap()
            .contains("tether ack consecutive-failures-sample")),
        "{h:#}"
    );

    // the failure changes: sent again
    s.wrapper.write("case.py", NO_MODULE);
    s.wrapper.commit("test: fail differently");
    wait_for(limit, "the changed failure's escalation", || {
        escalations(&hook).len() >= 2
    });
    let sent = escalations(&hook);
    assert_eq!(
        sent[1]["escalation"]["evidence"]["failure"],
        "c:missing-module"
    );

    // acked: silent while the failure stays the same
    t.run(&["ack", "consecutive-failures-sample"])
        .assert_code(0);
    t.run(&["ack", "nope"]).assert_code(2);
    let seen = failures(&s.root);
    wait_for(limit, "three more failed cycles", || {
        failures(&s.root) >= seen + 3
    });
    assert_eq!(escalations(&hook).len(), 2, "{:#?}", escalations(&hook));
    // ... and sent again when it changes
    s.wrapper.write("case.py", BOOM);
    s.wrapper.commit("test: fail as before");
    wait_for(limit, "the escalation after the ack", || {
        escalations(&hook).len() >= 3
    });
    assert_eq!(w.stop(Duration::from_secs(30)), 0, "{}", w.log());
}
