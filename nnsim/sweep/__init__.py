"""`nnsim sweep`: a lesson over a grid of parameters (learning rate, optimiser, initialisation,
activation, batch size, iterations, seed), each run headless, on this machine's cores or on a
Dask cluster, with the same numbers wherever and in whatever order the runs finish.

    from nnsim.sweep.params import parse_grid
    from nnsim.sweep.plan import plan_sweep, run_sweep

    plan = plan_sweep(load("xor_mlp"), parse_grid(["lr=0.1,1.0", "seed=0,1"]))
    rows = run_sweep(plan)  # [{"run": 1, "params": {...}, "variant": None, ...}, ...]

params.py reads and applies the grid; plan.py checks it all before anything runs and warms
the kernels; runner.py is one task (what a worker runs); local.py the process pool;
cluster.py Dask; cli.py the command. Nothing is imported here, so that `nnsim` starts as
fast with this command as without it.
"""
