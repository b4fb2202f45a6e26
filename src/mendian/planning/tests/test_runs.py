"""Forecast runs against the database: the whole path from sales history to stock policies."""

from __future__ import annotations

import datetime as dt

import pytest

from mendian.core.errors import Conflict, InvalidInput
from mendian.planning import selectors, services
from mendian.planning.models import (
    ExternalFactor,
    ForecastRun,
    PromotionPeriod,
    ReplenishmentParameter,
    SeriesForecast,
    StockPolicy,
)
from mendian.platform.models import Job

from .factories import AS_OF, small_chain

pytestmark = pytest.mark.django_db


def test_run_forecasts_every_series_and_recomputes_stock_policies():
    chain = small_chain()
    run = services.forecast_run_create(horizon=14)
    assert run.as_of == AS_OF  # the last day with sales history
    run = services.forecast_run_execute(run_id=run.pk, n_jobs=1)
    assert run.status == "done"
    assert (run.progress_done, run.progress_total) == (6, 6)
    job = Job.objects.get(pk=run.job_id)
    assert (job.status, job.progress_done, job.progress_total) == ("done", 6, 6)
    assert SeriesForecast.objects.filter(run=run).count() == 6
    assert StockPolicy.objects.filter(run=run).count() == 6
    s = run.summary
    assert s["series"] == 6 and s["scored_series"] == 6 and "wape" in s and "wape_snaive" in s
    assert sum(s["abc"].values()) == 6
    km0 = SeriesForecast.objects.get(run=run, location=chain.km, sku=chain.skus[0])
    assert km0.censored_days == 5  # five days without stock (one of them with refused demand)
    assert km0.start == AS_OF + dt.timedelta(days=1) and len(km0.forecast) == 14
    pol = StockPolicy.objects.get(location=chain.km, sku=chain.skus[0])
    assert pol.explanation["inputs"]["lead_time_days"] == 7.0
    assert pol.explanation["forecast"]["run"] == run.pk
    figures = selectors.stock_policies_for([chain.km.pk], [chain.skus[0].pk])[(chain.km.pk, chain.skus[0].pk)]
    assert (figures.safety_stock, figures.reorder_point, figures.order_up_to) == (
        pol.safety_stock, pol.reorder_point, pol.order_up_to)
    assert selectors.safety_stock_for([chain.km.pk, chain.dl.pk], [chain.skus[0].pk]) == {
        (chain.km.pk, chain.skus[0].pk): pol.safety_stock,
        (chain.dl.pk, chain.skus[0].pk): StockPolicy.objects.get(location=chain.dl, sku=chain.skus[0]).safety_stock}
    # a run that is done cannot be executed again
    with pytest.raises(Conflict):
        services.forecast_run_execute(run_id=run.pk)


def test_lead_time_table_feeds_the_policy_most_specific_row_first():
    chain = small_chain(skus=1)
    ReplenishmentParameter.objects.create(location=chain.km, lead_time_days=3, review_period_days=2)
    ReplenishmentParameter.objects.create(location=chain.km, sku=chain.skus[0], lead_time_days=10,
                                          lead_time_std_days=2, review_period_days=7, source="supplier")
    run = services.forecast_run_execute(run_id=services.forecast_run_create(horizon=7).pk)
    pol = StockPolicy.objects.get(location=chain.km, sku=chain.skus[0])
    assert pol.explanation["inputs"]["lead_time_days"] == 10.0
    assert pol.explanation["inputs"]["params_source"] == "location_sku:supplier"
    other = StockPolicy.objects.get(location=chain.dl, sku=chain.skus[0])
    assert other.explanation["inputs"]["params_source"] == "default"
    f = SeriesForecast.objects.get(run=run, location=chain.km, sku=chain.skus[0])
    d_mean = sum(f.forecast) / len(f.forecast)  # protection period 17 days > horizon 7: the mean continues
    assert pol.explanation["values"]["demand_over_protection_period"] == pytest.approx(
        sum(f.forecast) + 10 * d_mean, abs=1e-3)


def test_a_failed_run_resumes_and_skips_the_series_it_finished(monkeypatch):
    small_chain()
    run = services.forecast_run_create(horizon=7)
    real = services._save_chunk
    calls = {"n": 0}

    def flaky(ctx, results):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        real(ctx, results)

    monkeypatch.setattr(services, "_save_chunk", flaky)
    with pytest.raises(RuntimeError):
        services.forecast_run_execute(run_id=run.pk, chunk_size=2)
    run.refresh_from_db()
    assert run.status == "failed" and "worker lost" in run.error
    assert SeriesForecast.objects.filter(run=run).count() == 2
    monkeypatch.setattr(services, "_save_chunk", real)
    services.forecast_run_requeue(run_id=run.pk)
    run = services.forecast_run_execute(run_id=run.pk, chunk_size=2)
    assert run.status == "done"
    assert SeriesForecast.objects.filter(run=run).count() == 6
    assert run.summary["resumed_from"] == 2 and run.progress_done == 6


def test_process_pool_gives_the_same_forecasts_as_one_process():
    small_chain(skus=2)
    one = services.forecast_run_execute(run_id=services.forecast_run_create(horizon=7).pk, n_jobs=1, chunk_size=1)
    two = services.forecast_run_execute(run_id=services.forecast_run_create(horizon=7).pk, n_jobs=2, chunk_size=1)
    a = dict(((r.location_id, r.sku_id), (r.model, r.forecast)) for r in SeriesForecast.objects.filter(run=one))
    b = dict(((r.location_id, r.sku_id), (r.model, r.forecast)) for r in SeriesForecast.objects.filter(run=two))
    assert a == b and len(a) == 4


def test_promotion_periods_and_external_factors_reach_the_forecast():
    chain = small_chain(skus=1)
    for k in range(0, 140, 30):  # a week of promotion every month, and one in the horizon
        PromotionPeriod.objects.create(sku=chain.skus[0], starts_on=AS_OF - dt.timedelta(days=k + 7),
                                       ends_on=AS_OF - dt.timedelta(days=k + 1))
    PromotionPeriod.objects.create(sku=chain.skus[0], location=chain.km, starts_on=AS_OF + dt.timedelta(days=2),
                                   ends_on=AS_OF + dt.timedelta(days=4))
    csv = "date,name,city,value\n" + "\n".join(
        f"{AS_OF - dt.timedelta(days=i)},temperature,Kunming,{15 + (i % 9)}" for i in range(-14, 150))
    services.external_factors_import(source=csv)
    run = services.forecast_run_execute(run_id=services.forecast_run_create(horizon=14).pk)
    km = SeriesForecast.objects.get(run=run, location=chain.km)
    dl = SeriesForecast.objects.get(run=run, location=chain.dl)
    assert km.detail["drivers"]["effects"]["promo_lift"] is not None
    assert "temperature" in km.detail["drivers"]["effects"]["factor_betas"]
    assert dl.detail["drivers"]["effects"]["factor_betas"] == {}  # Dali has no temperature series
    assert "holidays" in km.detail["drivers"]["ablation"]  # National Day falls in the scored window


def test_external_factor_import_replaces_values_and_refuses_a_bad_file_whole():
    r = services.external_factors_import(source="date,name,value,city\n2026-07-01,temperature,31.5,Kunming\n"
                                                "2026-07-02,temperature,29,Kunming\n2026-07-01,rain_mm,4,\n")
    assert (r.rows, r.names, r.first_day, r.last_day) == (3, ["rain_mm", "temperature"], "2026-07-01", "2026-07-02")
    services.external_factors_import(source=b"\xef\xbb\xbfdate,name,value,city\n2026-07-01,temperature,20,Kunming\n")
    assert ExternalFactor.objects.get(name="temperature", city="Kunming", day="2026-07-01").value == 20.0
    assert ExternalFactor.objects.count() == 3
    with pytest.raises(InvalidInput) as e:
        services.external_factors_import(source="date,name,value\n2026-07-03,temperature,18\n2026-13-01,temperature,1\n"
                                                "2026-07-03,temperature,2\n")
    assert [x["line"] for x in e.value.details["errors"]] == [3, 4]
    assert ExternalFactor.objects.count() == 3  # nothing from the bad file
    with pytest.raises(InvalidInput):
        services.external_factors_import(source="day,value\n2026-07-01,3\n")


def test_run_parameters_are_checked():
    with pytest.raises(InvalidInput):
        services.forecast_run_create(horizon=0, as_of=AS_OF)
    with pytest.raises(InvalidInput):
        services.forecast_run_create(drivers=["moon"], as_of=AS_OF)
    assert ForecastRun.objects.count() == 0


def test_periodic_job_executes_the_queued_run():
    small_chain(skus=1)
    from mendian.planning import jobs

    run = services.forecast_run_create(horizon=7)
    assert jobs.execute_queued_forecast_runs() == run.pk
    run.refresh_from_db()
    assert run.status == "done"
    assert jobs.execute_queued_forecast_runs() is None
    nightly = jobs.nightly_forecast()
    assert ForecastRun.objects.get(pk=nightly).status == "queued"
    assert jobs.nightly_forecast() is None  # one is already queued


def test_forecast_command_runs_the_chosen_series_and_reports(capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    small_chain(skus=2)
    call_command("forecast", "--locations", "KM001", "--skus", "GR001", "--horizon", "7")
    out = capsys.readouterr().out
    assert "1/1 series" in out and '"series": 1' in out
    run = ForecastRun.objects.get()
    assert (run.status, run.horizon, run.params["location_ids"]) == ("done", 7, [run.series.get().location_id])
    with pytest.raises(CommandError):
        call_command("forecast", "--locations", "NOPE")
    assert ForecastRun.objects.count() == 1
