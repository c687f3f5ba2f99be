"""The bill run's pause of the cyclic garbage collector is counted across overlapping runs."""


def test_the_collector_comes_back_when_the_last_of_overlapping_runs_ends():
    import gc

    from services.billing.bill_run import cyclic_gc_paused

    outer = cyclic_gc_paused()
    outer.__enter__()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first run is still going
    outer.__exit__(None, None, None)
    assert gc.isenabled()
