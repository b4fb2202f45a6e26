"""Pure forecasting code: no Django. Plain arrays and dataclasses in, plain dataclasses out.

- ``classify``  demand classes (ADI/CV²: smooth, erratic, intermittent, lumpy), ABC by value, XYZ by variability
- ``metrics``   MASE, WAPE and bias
- ``censor``    censored demand: stock-out days and lost demand are not zero demand
- ``drivers``   the Chinese holiday calendar (with the moved working weekends), promotion periods and
                imported external daily factors, as multiplicative effects estimated from history
- ``engine``    rolling-origin cross-validation, model choice per series, the horizon's forecast, and
                running chunks of series on any ``concurrent.futures``-style executor (process pool, Dask, Ray)
- ``synthetic`` the demo demand model (weekly pattern, holiday peaks, promotions, weather, intermittent SKUs)
"""
