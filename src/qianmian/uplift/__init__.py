"""Uplift targeting: who a treatment (a coupon, an e-mail, a page) actually moves.

From a randomized test — a per-consumer file or an experiment stored in Qianmian — fit a T- or
X-learner on a training split (`fit`), judge it on the held-out split by the Qini coefficient and
uplift at k against random and RFM targeting (`evaluate`), save every target consumer's predicted
uplift (`scores`), and save "the top k% by predicted uplift" as an audience whose rule reads those
scores (`targeting`), so a storefront experience can target it.

    rct = data.from_file("hillstrom.csv", treatment="segment", outcome="visit", control="No E-Mail")
    fitted = fit.fit_uplift(rct)
    scores.save_model(store, "email-visit", ids=fitted.ids, uplift=fitted.uplift, meta=..., now=...)
    targeting.save_top_audience(store, model="email-visit", audience="email-movers", top=30)
"""
