"""The pytest session: the plugin's hooks, options and profiles, the replicas a run tests, the
harness that runs machines and scenarios as tests, and the files a failure leaves behind.

Everything here is about one pytest run; the protocol knowledge (rules, oracle, model, driver)
lives outside and never imports from this package.
"""
