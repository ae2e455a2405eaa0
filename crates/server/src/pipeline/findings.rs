//! Stage 1, for in-process gateways: what a gateway found about an action (the API gateway reads a
//! provider's schema and operations, which the classifier does not know) joins the classifier's
//! assessment. Nothing is taken away: the most alarming part wins, as within the classifier.

use airlock_classify::Assessment;

/// Adds `extra`'s operations and targets to `into`, and recomputes the risk and its reasons.
pub(crate) fn merge(into: &mut Assessment, extra: &Assessment) {
    for op in &extra.operations {
        if !into.operations.contains(op) {
            into.operations.push(op.clone());
        }
    }
    for t in &extra.targets {
        if !into.targets.contains(t) {
            into.targets.push(t.clone());
        }
    }
    let risk = into.risk.combine(extra.risk);
    if risk != into.risk {
        into.reasons.clear();
    }
    into.risk = risk;
    for op in into.operations.iter().filter(|o| o.risk == risk) {
        if !into.reasons.contains(&op.reason) {
            into.reasons.push(op.reason.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_classify::{classify, Action, NoWorld, Risk};

    #[test]
    fn a_gateway_finding_raises_the_risk_never_lowers_it() {
        let mut a = classify(
            &Action::http("POST http://127.0.0.1/graphql\n\n{\"query\":\"mutation { x }\"}"),
            &NoWorld,
        );
        assert_eq!(a.risk, Risk::Write);
        let unknown = classify(&Action::shell("eval \"$X\""), &NoWorld);
        merge(&mut a, &unknown);
        assert_eq!(a.risk, Risk::Unknown);
        assert!(a.reasons.iter().all(|r| unknown.reasons.contains(r)), "{:?}", a.reasons);
        let read = classify(&Action::shell("ls"), &NoWorld);
        merge(&mut a, &read);
        assert_eq!(a.risk, Risk::Unknown);
    }
}
