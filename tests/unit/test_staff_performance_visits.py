"""Staff performance counts each staff member's field visits of the month (issue 14 + 15)."""
import datetime as dt


def test_staff_performance_counts_each_agents_visits_of_the_month():
    from decimal import Decimal

    from services.field.models import AgentVisits
    from services.reports.analytics import StaffRow, month_days, with_visits

    rows = [StaffRow(7, "agent", "Agent", "agent", "KSR/UC01", 3, Decimal("300"), Decimal("100"), 1),
            StaffRow(8, "agent2", "Agent 2", "agent", "KSR/UC02", 1, Decimal("100"), Decimal("0"), 0)]
    got = with_visits(rows, [AgentVisits("Agent", 5, agent_id=7), AgentVisits("Someone", 2, agent_id=None)])
    assert [(r.user_id, r.visits) for r in got] == [(7, 5), (8, 0)]
    assert month_days("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert month_days("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
