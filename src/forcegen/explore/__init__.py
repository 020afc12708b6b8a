"""``forcegen explore``: the scenario in the browser, with levers, bands and answers.

A local web app (Dash and Plotly, assets served by the app itself: it works offline)
that redraws the mean-field trajectory as a lever moves, then fills in the stochastic
bands from an ensemble computed in the background with common random numbers, answers
the user's question with the inputs it rests on, compares with a pinned baseline and
hands back the changed scenario, its figures and its report (docs/explore.md).

Modules: :mod:`~forcegen.explore.setting` (controls → scenario),
:mod:`~forcegen.explore.levers` (which parameters get sliders),
:mod:`~forcegen.explore.views` (numbers the charts show),
:mod:`~forcegen.explore.jobs` (the simulations, cached, the ensemble in a thread),
:mod:`~forcegen.explore.app` (the page).
"""
