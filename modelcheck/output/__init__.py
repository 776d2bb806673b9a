"""Views of results in kernel terms: text reports, counterexample graphs, pictures."""
