""""Why this page" is read from the decision record that composed the page, so the two cannot disagree."""

from __future__ import annotations

from qianmian.storefront.page import Decision, RailDecision, decision_reasons

RAILS = (RailDecision("Picked for you", "home", "", 0, "the page is not personalized, so it would repeat 'Popular right now'"),
         RailDecision("Popular right now", "popular", "the most popular products with all shoppers", 10))


def test_the_control_arm_names_the_experience_it_withholds_and_predicts_no_need():
    d = Decision(("loyal", "coffee"), None, "default", 1, False, experiment="hero-2-8", variant="control", arm="control",
                 withheld="loyal", need="something you'll love", need_source="not personalized", rails=RAILS)
    assert decision_reasons(d) == [
        "audience 'loyal', the first by priority (also in coffee)",
        "experiment 'hero-2-8': arm 'control' (control) sees the default page, not personalized",
        "default experience (v1): the control arm does not see the experience of audience 'loyal'",
        "no need predicted: the page is not personalized (the greeting says \"something you'll love\")",
        "rail 'Picked for you' (home) left out: the page is not personalized, so it would repeat 'Popular right now'",
        "rail 'Popular right now' (popular): 10 products, the most popular products with all shoppers",
    ]


def test_the_test_arm_names_the_audience_experience_and_where_the_need_came_from():
    d = Decision(("vip", "loyal"), "loyal", "loyal", 3, True, experiment="hero-2-8", variant="personalized", arm="test",
                 need="category 941949", need_source="history", rails=RAILS[1:])
    reasons = decision_reasons(d)
    assert reasons[1] == "experiment 'hero-2-8': arm 'personalized' (test) sees the audience's page, personalized"
    assert reasons[2] == "experience of audience 'loyal' (v3), the first of the shopper's audiences that has one"
    assert reasons[3] == "predicted need 'category 941949' from history"


def test_opted_out_and_no_audience():
    out = decision_reasons(Decision((), None, "default", 0, False, consent=False, need="x", need_source="not personalized"))
    assert out[:2] == ["opted out: default page, not personalized, not profiled", "default experience (v0): the page of every shopper who opted out"]
    alone = decision_reasons(Decision((), None, "default", 0, True, need="x", need_source="no history"))
    assert alone[:2] == ["in no audience", "default experience (v0): the shopper is in no audience"]
