"""A realistic, seeded sales dataset in bulk: ``generate(env, "S", seed=42)``.

Structure (regions, offices, salespeople, products) is made with the ORM; the volume
(partners, leads, orders, invoices, payments, tickets, calls, visits) is cloned in SQL
from a handful of ORM-made template records (see ``clone.py``), so that every column is
filled as Odoo fills it. Computed fields that depend on what varies per copy (partner
data, dates, names, sequence numbers) are set to what Odoo would compute.
"""

import logging
import random
import time
from collections import defaultdict
from datetime import datetime, timedelta
from datetime import time as dtime

from odoo import Command, fields
from odoo.tools import SQL, split_every

from odoo.addons.iap.tools import iap_tools

from .clone import clone_bundle, reserve_ids, table_columns

_logger = logging.getLogger(__name__)

SIZES = {
    "tiny": {
        "partners": 30,
        "leads": 50,
        "orders": 40,
        "tickets": 5,
        "users": 12,
        "calls": 20,
        "visits": 10,
        "key_accounts": 3,
    },
    "S": {
        "partners": 10_000,
        "leads": 10_000,
        "orders": 20_000,
        "tickets": 2_000,
        "users": 200,
        "calls": 10_000,
        "visits": 3_000,
        "key_accounts": 250,
    },
    "M": {
        "partners": 100_000,
        "leads": 100_000,
        "orders": 200_000,
        "tickets": 20_000,
        "users": 200,
        "calls": 100_000,
        "visits": 30_000,
        "key_accounts": 400,
    },
    "L": {
        "partners": 100_000,
        "leads": 1_000_000,
        "orders": 500_000,
        "tickets": 100_000,
        "users": 200,
        "calls": 500_000,
        "visits": 150_000,
        "key_accounts": 400,
    },
}

MARKER = "GEN-"  # code prefix of the root region: "already generated"
DAYS = 730  # two years of history
PAYMENT_DELAY = 20  # days from invoice to payment

# US census regions: the sub-regions of the generated tree and the states they claim.
US_REGIONS = {
    "Northeast": "CT ME MA NH RI VT NJ NY PA",
    "Midwest": "IL IN MI OH WI IA KS MN MO NE ND SD",
    "South": "DE FL GA MD NC SC VA DC WV AL KY MS TN AR LA OK TX",
    "West": "AZ CO ID MT NV NM UT WY AK CA HI OR WA",
}
# Relative activity per month (January first): a slow summer, a strong year end.
SEASONALITY = [0.8, 0.9, 1.1, 1.0, 1.0, 0.8, 0.6, 0.7, 1.1, 1.2, 1.3, 1.5]
WORDS_A = "Acme Apex Blue Bright Cedar Delta Eagle Granite Harbor Iron Lake Maple North"
WORDS_A += " Oak Pine Quartz River Summit Silver Union Valley West Zenith"
WORDS_B = "Systems Foods Logistics Labs Motors Partners Supply Energy Health Media"
WORDS_B += " Works Retail Textiles Tools Foods Farms Dynamics Solutions"

LEAD_TOPICS = ("Renewal", "Expansion", "New project", "Pilot", "Upgrade")
TICKET_TOPICS = (
    "Cannot log in",
    "Invoice question",
    "Broken item",
    "Delivery late",
    "How to",
)

# Customer work on the calendar: (kind, name, weight) of the visits about leads.
VISIT_KINDS = [
    ("visit", "Visit", 0.75),
    ("meeting", "Meeting", 0.15),
    ("demo", "Demo", 0.1),
]
VISIT_OUTCOMES = (
    "Met the buyer, quotation requested",
    "Presented the new range, follow-up call planned",
    "Reviewed open orders and deliveries",
    "Decision postponed to next quarter",
    "Demo went well, trial agreed",
    "Complaint about a delivery settled",
    "Renewal discussed, price objection",
)
# Share of the visits that are the routine visits of key accounts (past ones), and
# how many of them a key account gets at most (about a season's worth).
ROUTINE_SHARE = 0.4
ROUTINE_MAX = 12
# (state, share) of past customer work that is not done; future work is planned, a few
# cancelled.
PAST_NOT_DONE = [("cancelled", 0.05), ("missed", 0.08)]
FUTURE_CANCELLED = 0.05
# (state, share) of past calls; calls to come are confirmed (open).
CALL_STATES = [("done", 0.8), ("cancel", 0.08), ("pending", 0.04), ("open", 0.08)]
# Contact cadence: customers are tagged by how often they were contacted over the two
# years, their interval about 1.3 times their average gap between contacts, so that
# about a fifth of them is overdue, as in a real sales team. (tag, days, highest
# target in days); customers whose target is under CADENCE_DEFAULT_BELOW keep the
# company default (30 days); key accounts are tagged as such (shortest interval).
KEY_ACCOUNT_TAG = ("Key Account", 14)
CADENCE_TAGS = [
    ("Regular", 60, 90),
    ("Occasional", 120, 180),
    ("Infrequent", 240, 400),
    ("Dormant", 450, None),
]
CADENCE_DEFAULT_BELOW = 45
CADENCE_FACTOR = 1.3
# Forecast categories salespeople set on their open opportunities, on top of what the
# stage gives: (category, share in the first open stage, share in the last one),
# in between by the stage's rank; the others keep their stage's category. Drawn from
# a generator of their own, so that the rest of the dataset does not change with them.
FORECAST_CHOICES = [
    ("omitted", 0.04, 0.03),
    ("commit", 0.04, 0.35),
    ("best_case", 0.1, 0.3),
]
# Categories by rank: a salesperson's choice never lowers the stage's (except omitted).
FORECAST_RANK = {"omitted": 0, "pipeline": 1, "best_case": 2, "commit": 3}


class DatasetError(Exception):
    """The database cannot receive the dataset."""


class Timer:
    def __init__(self):
        self.stages = []

    def stage(self, name, count, start):
        elapsed = time.perf_counter() - start
        self.stages.append((name, count, elapsed))
        _logger.info("dataset: %s %s in %.1fs", count, name, elapsed)
        return time.perf_counter()


def generate(env, size="S", seed=42, today=None, country=None):
    """Fill the database; returns ``[(stage, count, seconds)]``.

    Customers live in the states of ``country`` (the United States by default), which
    must not be claimed by any sales region yet.
    """
    sizes = SIZES[size]
    rng = random.Random(seed)
    today = today or fields.Date.context_today(env.user)
    env = env(context=dict(env.context, tracking_disable=True, mail_create_nolog=True))
    timer = Timer()
    start = time.perf_counter()
    country = country or env.ref("base.us")
    check_target(env, country)
    world = _make_structure(env, sizes, rng, country)
    start = timer.stage(
        "regions, offices, salespeople, products", sizes["users"], start
    )
    world["day0"] = today - timedelta(days=DAYS)
    world["seed"] = seed
    world["partners"] = _make_partners(env, world, sizes["partners"], rng)
    start = timer.stage("partners", sizes["partners"], start)
    world["leads"] = _make_leads(env, world, sizes["leads"], rng)
    # Cloned in SQL, the leads start their stage history as at install: the
    # forecast's win rates then assume the stages below a lost lead's, as before.
    env["crm.lead.stage.history"]._backfill()
    start = timer.stage("leads", sizes["leads"], start)
    _make_orders(env, world, sizes["orders"], rng)
    start = timer.stage("orders, invoices, payments", sizes["orders"], start)
    _make_tickets(env, world, sizes["tickets"], rng)
    start = timer.stage("tickets", sizes["tickets"], start)
    world["today"] = today
    _make_calls(env, world, sizes["calls"], rng)
    start = timer.stage("calls", sizes["calls"], start)
    world["key_accounts"] = _key_accounts(env, world, sizes["key_accounts"], rng)
    _make_visits(env, world, sizes["visits"], rng)
    start = timer.stage("visits", sizes["visits"], start)
    _set_contact_cadence(env, world)
    start = timer.stage("contact cadence", sizes["partners"], start)
    if size != "tiny":
        _make_visit_schedules(env, world, rng)
        start = timer.stage("visit schedules", len(world["key_accounts"]), start)
    _score_leads(env)
    env.invalidate_all()
    timer.stage("lead scoring (automated probabilities)", sizes["leads"], start)
    return timer.stages


def _score_leads(env):
    """Predictive lead scoring as Odoo's cron does it, in the current transaction.

    The cron commits per batch; here the frequency table is rebuilt and the automated
    probability of the open leads set in one statement, and the probability follows it
    where both were equal, then the prorated revenue follows the probability.
    """
    Lead = env["crm.lead"]
    Lead._rebuild_pls_frequency_table()
    start = Lead._pls_get_safe_start_date()
    lead_ids, probabilities = [], []
    if start:
        leads = Lead.search(
            [
                ("stage_id", "!=", False),
                ("create_date", ">=", start),
                "|",
                ("probability", "=", False),
                "&",
                ("probability", "<", 100),
                ("probability", ">", 0),
            ]
        )
        for batch in split_every(50_000, leads.ids, Lead.browse):
            for lead_id, probability in sorted(
                batch._pls_get_naive_bayes_probabilities(batch_mode=True).items()
            ):
                lead_ids.append(lead_id)
                probabilities.append(probability)
    env.flush_all()
    env.cr.execute(
        SQL(
            """
            UPDATE crm_lead l
               SET automated_probability = s.p,
                   probability = CASE WHEN l.probability = l.automated_probability
                                        OR l.probability IS NULL
                                      THEN s.p ELSE l.probability END
              FROM unnest(%s::int[], %s::float8[]) AS s(id, p)
             WHERE l.id = s.id
         RETURNING l.id, l.expected_revenue::float8, l.probability
            """,
            lead_ids,
            probabilities,
        )
    )
    rows = env.cr.fetchall()
    # Rounded the way _compute_prorated_revenue does, in Python.
    env.cr.execute(
        SQL(
            """
            UPDATE crm_lead l SET prorated_revenue = s.prorated
              FROM unnest(%s::int[], %s::numeric[]) AS s(id, prorated)
             WHERE l.id = s.id
            """,
            [row[0] for row in rows],
            [round((row[1] or 0.0) * (row[2] or 0) / 100.0, 2) for row in rows],
        )
    )


def check_target(env, country):
    """Refuse a database that already has the dataset or regions on its country."""
    Region = env["crm.sales.region"].with_context(active_test=False)
    done = Region.search([("code", "=like", f"{MARKER}%"), ("parent_id", "=", False)])
    if done:
        raise DatasetError(
            f"This database already holds a generated dataset (region {done[0].code}); "
            "drop the database to generate again."
        )
    claimed = Region.search(
        [
            "|",
            ("state_ids.country_id", "=", country.id),
            ("country_ids", "=", country.id),
        ]
    )
    if claimed:
        raise DatasetError(
            f"Sales regions already claim {country.name} or its states "
            f"({', '.join(claimed.mapped('code'))}): the generator targets a database "
            "installed without demo data (--without-demo=all)."
        )


# ----------------------------------------------------------------------------
# Structure, with the ORM
# ----------------------------------------------------------------------------


def _make_structure(env, sizes, rng, country):
    all_states = country.state_ids.sorted("code")
    if country == env.ref("base.us"):
        by_code = {state.code: state for state in all_states}
        groups = {
            name: [by_code[c] for c in codes.split() if c in by_code]
            for name, codes in US_REGIONS.items()
        }
    else:
        groups = {
            name: all_states[n :: len(US_REGIONS)] for n, name in enumerate(US_REGIONS)
        }
    root = env["crm.sales.region"].create(
        {
            "name": country.name,
            "code": f"{MARKER}{country.code}",
            "country_ids": [Command.set(country.ids)],
        }
    )
    regions = env["crm.sales.region"].create(
        [
            {
                "name": name,
                "code": f"{MARKER}{country.code}-{name[:2].upper()}",
                "parent_id": root.id,
                "state_ids": [Command.set([state.id for state in states])],
            }
            for name, states in groups.items()
            if states
        ]
    )
    group_sales = env.ref("sales_team.group_sale_salesman")
    group_manager = env.ref("crm_extended.group_regional_manager")
    users = env["res.users"].create(
        [
            {
                "name": f"Salesperson {n:03d}",
                "login": f"gen_sales_{country.code.lower()}_{n:03d}",
                "email": f"gen_sales_{country.code.lower()}_{n:03d}@example.com",
                "groups_id": [Command.set([group_sales.id])],
            }
            for n in range(1, sizes["users"] + 1)
        ]
    )
    managers = env["res.users"].create(
        [
            {
                "name": f"{region.name} Manager",
                "login": f"gen_manager_{region.code.lower()}",
                "groups_id": [Command.set([group_manager.id])],
            }
            for region in regions
        ]
    )
    for region, manager in zip(regions, managers, strict=True):
        region.manager_ids = [Command.set(manager.ids)]
    # About a dozen offices, three per sub-region, salespeople spread over them.
    teams = env["crm.team"].create(
        [
            {"name": f"{region.name} Office {n}", "sales_region_id": region.id}
            for region in regions
            for n in (1, 2, 3)
        ]
    )
    team_of_user = {}
    members = []
    for n, user in enumerate(users):
        team = teams[n % len(teams)]
        team_of_user[user.id] = team
        members.append({"crm_team_id": team.id, "user_id": user.id})
    env["crm.team.member"].create(members)
    products = env["product.product"].create(
        [
            {
                "name": name,
                "type": "service",
                "invoice_policy": "order",
                "list_price": price,
            }
            for name, price in (
                ("Gen Consulting Day", 950.0),
                ("Gen License Seat", 120.0),
                ("Gen Support Plan", 2400.0),
                ("Gen Training", 480.0),
            )
        ]
    )
    return {
        "country": country,
        "states": [state for states in groups.values() for state in states],
        "regions": regions,
        "teams": teams,
        "users": users,
        "team_of_user": team_of_user,
        "products": products,
    }


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


def _skewed_picker(rng, items, exponent=1.1):
    """Pick items with a Zipf-like skew: the first few are picked very often."""
    order = list(items)
    rng.shuffle(order)
    weights = [1.0 / (rank**exponent) for rank in range(1, len(order) + 1)]
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)

    def pick():
        return rng.choices(order, cum_weights=cumulative)[0]

    return pick


def _seasonal_day(rng, day0):
    """A day of the two years, weighted by month seasonality and growing over time."""
    while True:
        offset = rng.randrange(DAYS)
        day = day0 + timedelta(days=offset)
        weight = SEASONALITY[day.month - 1] * (0.7 + 0.6 * offset / DAYS)
        if rng.random() * 1.6 < weight:
            return offset


def _business_time(rng, day):
    return datetime.combine(day, dtime(rng.randrange(8, 18), rng.randrange(60)))


def _date_templates(env, bundle, day0):
    """Date the templates' creation on the first day: copies shift from there."""
    moment = datetime.combine(day0, dtime(9))
    for table, ids in bundle.items():
        if ids:
            env.cr.execute(
                SQL(
                    "UPDATE %s SET create_date = %s, write_date = %s "
                    "WHERE id = ANY(%s)",
                    SQL.identifier(table),
                    moment,
                    moment,
                    ids,
                )
            )


# ----------------------------------------------------------------------------
# Partners
# ----------------------------------------------------------------------------


def _make_partners(env, world, count, rng):
    template = env["res.partner"].create(
        {
            "name": "Gen Template Corp",
            "is_company": True,
            "email": "info@gen-template.example.com",
            "street": "1 Main Street",
            "city": "Springfield",
            "zip": "10001",
            "state_id": world["states"][0].id,
            "country_id": world["country"].id,
            "customer_rank": 1,
        }
    )
    env.flush_all()
    world["template_partner"] = template
    words_a, words_b = WORDS_A.split(), WORDS_B.split()
    states = world["states"]
    # Population-like skew over states.
    state_pick = _skewed_picker(rng, states, exponent=0.8)
    rows = []
    for n in range(1, count + 1):
        name = f"{rng.choice(words_a)} {rng.choice(words_b)} {n}"
        since = _business_time(rng, world["day0"] - timedelta(days=rng.randrange(900)))
        slug = name.lower().replace(" ", "-")
        email = f"contact@{slug}.example.com"
        rows.append(
            (
                name,
                name,
                name,
                email,
                email,
                f"{rng.randrange(1, 999)} {rng.choice(words_a)} Avenue",
                f"{rng.choice(words_a)}ville",
                f"{rng.randrange(10000, 99999)}",
                state_pick().id,
                since,
                since,
            )
        )
    variables = {
        "name": "varchar",
        "complete_name": "varchar",
        "commercial_company_name": "varchar",
        "email": "varchar",
        "email_normalized": "varchar",
        "street": "varchar",
        "city": "varchar",
        "zip": "varchar",
        "state_id": "int",
        "create_date": "timestamp",
        "write_date": "timestamp",
    }
    blocks = clone_bundle(
        env, [("res_partner", [template.id])], rows, variables, tokens=()
    )
    first, _k = blocks["res_partner"]
    ids = list(range(first, first + count))
    env.cr.execute(
        SQL(
            "UPDATE res_partner SET commercial_partner_id = id "
            "WHERE id BETWEEN %s AND %s",
            first,
            first + count - 1,
        )
    )
    env.invalidate_all()
    env["res.partner"]._sales_region_reassign(
        {state.id for state in states}, {world["country"].id}
    )
    env.cr.execute(
        SQL(
            "SELECT id, name, email, street, city, zip, state_id, sales_region_id "
            "FROM res_partner WHERE id BETWEEN %s AND %s ORDER BY id",
            first,
            first + count - 1,
        )
    )
    partners = [
        dict(
            zip(
                ("id", "name", "email", "street", "city", "zip", "state_id", "region"),
                r,
                strict=True,
            )
        )
        for r in env.cr.fetchall()
    ]
    assert [p["id"] for p in partners] == ids
    return partners


# ----------------------------------------------------------------------------
# Leads
# ----------------------------------------------------------------------------


def _forecast_category_picker(seed, open_stages):
    """``pick(stage)``: the forecast category of an open opportunity in ``stage``:
    the stage's (as ``crm.lead._compute_forecast_category`` sets it), or the one its
    salesperson chose instead (see ``FORECAST_CHOICES``)."""
    rng = random.Random(f"forecast-category-{seed}")
    last = max(len(open_stages) - 1, 1)
    rank = {stage.id: n / last for n, stage in enumerate(open_stages)}

    def pick(stage):
        default = stage.forecast_category or "pipeline"
        draw = rng.random()
        for category, first_share, last_share in FORECAST_CHOICES:
            share = first_share + (last_share - first_share) * rank[stage.id]
            if draw < share:
                if (
                    category == "omitted"
                    or FORECAST_RANK[category] > FORECAST_RANK[default]
                ):
                    return category
                return default
            draw -= share
        return default

    return pick


def _make_leads(env, world, count, rng):
    Lead = env["crm.lead"]
    stages = env["crm.stage"].search([], order="sequence, id")
    won_stage = stages.filtered("is_won")[:1]
    open_stages = stages - won_stage
    lost_reasons = env["crm.lost.reason"].search([])
    user = world["users"][0]
    tmpl_partner = world["template_partner"]
    base = {
        "type": "opportunity",
        "partner_id": tmpl_partner.id,
        "user_id": user.id,
        "team_id": world["team_of_user"][user.id].id,
        "expected_revenue": 1000.0,
        "date_deadline": fields.Date.today(),
    }
    templates = {}
    for stage in open_stages:
        templates[("open", stage.id)] = Lead.create(
            {**base, "name": "Gen template", "stage_id": stage.id}
        )
    won = Lead.create({**base, "name": "Gen template", "stage_id": open_stages[0].id})
    won.action_set_won()
    templates[("won", won_stage.id)] = won
    for stage in open_stages:
        for reason in lost_reasons:
            lost = Lead.create({**base, "name": "Gen template", "stage_id": stage.id})
            lost.action_set_lost(lost_reason_id=reason.id)
            templates[("lost", stage.id, reason.id)] = lost
    env.flush_all()

    pick_category = _forecast_category_picker(world["seed"], open_stages)
    partner_pick = _skewed_picker(rng, world["partners"], exponent=0.7)
    lost_weights = [1.0 / (n + 1) for n in range(len(open_stages))]
    user_pick = _skewed_picker(rng, world["users"], exponent=0.5)
    day0 = world["day0"]
    today = day0 + timedelta(days=DAYS)
    by_template = defaultdict(list)
    for n in range(1, count + 1):
        partner = partner_pick()
        salesperson = user_pick()
        team = world["team_of_user"][salesperson.id]
        offset = _seasonal_day(rng, day0)
        created = _business_time(rng, day0 + timedelta(days=offset))
        age = DAYS - offset
        outcome = rng.random()
        # Old leads are decided; most decided leads are lost.
        if age > 120 or outcome < age / 150:
            if rng.random() < 0.22:
                key = ("won", won_stage.id)
            else:
                # Lost early more often than late.
                stage = rng.choices(open_stages, weights=lost_weights)[0]
                key = ("lost", stage.id, rng.choice(lost_reasons).id)
            closed = created + timedelta(days=min(age, int(rng.expovariate(1 / 40))))
        else:
            key = ("open", rng.choice(open_stages).id)
            closed = None
        template = templates[key]
        # Won and lost leads keep their stage's category, as the templates have it.
        category = template.forecast_category
        if not closed:
            category = pick_category(template.stage_id)
        revenue = round(rng.lognormvariate(8.5, 1.0), -1)
        probability = template.probability
        stage_update = closed or created + timedelta(days=int(rng.random() * age))
        stage_update = min(stage_update, datetime.combine(today, dtime(0)))
        by_template[template.id].append(
            (
                f"{partner['name']} - {rng.choice(LEAD_TOPICS)}",
                partner["id"],
                partner["name"],
                partner["email"],
                partner["email"],
                iap_tools.mail_prepare_for_domain_search(partner["email"]),
                partner["street"],
                partner["city"],
                partner["zip"],
                partner["state_id"],
                salesperson.id,
                team.id,
                team.sales_region_id.id,
                revenue,
                round(revenue * probability / 100.0, 2),
                created,
                created,
                created,
                stage_update,
                closed,
                (closed.date() if closed else created.date()) + timedelta(days=30),
                0,
                (closed - created).days if closed else None,
                category,
            )
        )
    variables = {
        "name": "varchar",
        "partner_id": "int",
        "partner_name": "varchar",
        "email_from": "varchar",
        "email_normalized": "varchar",
        "email_domain_criterion": "varchar",
        "street": "varchar",
        "city": "varchar",
        "zip": "varchar",
        "state_id": "int",
        "user_id": "int",
        "team_id": "int",
        "sales_region_id": "int",
        "expected_revenue": "numeric",
        "prorated_revenue": "numeric",
        "create_date": "timestamp",
        "write_date": "timestamp",
        "date_open": "timestamp",
        "date_last_stage_update": "timestamp",
        "date_closed": "timestamp",
        "date_deadline": "date",
        "day_open": "float8",
        "day_close": "float8",
        "forecast_category": "varchar",
    }
    lead_ids = []
    for template_id, rows in sorted(by_template.items()):
        blocks = clone_bundle(env, [("crm_lead", [template_id])], rows, variables)
        first, _k = blocks["crm_lead"]
        lead_ids += range(first, first + len(rows))
    env.invalidate_all()
    return lead_ids


# ----------------------------------------------------------------------------
# Orders, invoices, payments
# ----------------------------------------------------------------------------

LINE_SETS = [
    [(0, 2), (1, 5)],
    [(0, 10), (2, 1), (3, 2)],
    [(1, 40)],
    [(2, 3), (1, 120), (0, 25), (3, 8)],
]
# (kind, weight): how far the order went.
ORDER_KINDS = [
    ("quotation", 0.06),
    ("confirmed", 0.09),
    ("invoiced", 0.12),
    ("partial", 0.05),
    ("paid", 0.68),
]


def _make_order_template(env, world, kind, lines, day0):
    partner = world["template_partner"]
    user = world["users"][0]
    products = world["products"]
    order = (
        env["sale.order"]
        .with_user(user)
        .sudo()
        .create(
            {
                "partner_id": partner.id,
                "user_id": user.id,
                "team_id": world["team_of_user"][user.id].id,
                "date_order": datetime.combine(day0, dtime(10)),
                "order_line": [
                    Command.create(
                        {"product_id": products[p].id, "product_uom_qty": qty}
                    )
                    for p, qty in lines
                ],
            }
        )
    )
    bundle = {"sale_order": order.ids, "sale_order_line": order.order_line.ids}
    if kind != "quotation":
        order.action_confirm()
        order.date_order = datetime.combine(day0, dtime(10))
    if kind in ("invoiced", "partial", "paid"):
        invoice = order._create_invoices()
        invoice.invoice_date = day0
        invoice.action_post()
        moves = invoice
        if kind in ("partial", "paid"):
            amount = (
                invoice.amount_total if kind == "paid" else invoice.amount_total / 2
            )
            register = (
                env["account.payment.register"]
                .with_context(active_model="account.move", active_ids=invoice.ids)
                .create(
                    {
                        "payment_date": day0 + timedelta(days=PAYMENT_DELAY),
                        "amount": amount,
                    }
                )
            )
            payment = register._create_payments()
            moves |= payment.move_id
            bundle["account_payment"] = payment.ids
        env.flush_all()
        lines = moves.line_ids
        bundle["account_move"] = moves.ids
        bundle["account_move_line"] = lines.ids
        partials = lines.matched_debit_ids | lines.matched_credit_ids
        bundle["account_partial_reconcile"] = partials.ids
        bundle["account_full_reconcile"] = lines.full_reconcile_id.ids
    env.flush_all()
    _date_templates(env, bundle, day0)
    return order, bundle


BUNDLE_ORDER = [
    "account_full_reconcile",
    "sale_order",
    "sale_order_line",
    "account_move",
    "account_payment",
    "account_move_line",
    "account_partial_reconcile",
]
RELATIONS = [
    "account_tax_sale_order_line_rel",
    "sale_order_line_invoice_rel",
    "account_move_line_account_tax_rel",
    "account_account_tag_account_move_line_rel",
    "account_move__account_payment",
]


def _make_orders(env, world, count, rng):
    day0 = world["day0"]
    templates = []
    for kind, weight in ORDER_KINDS:
        for lines in LINE_SETS:
            order, bundle = _make_order_template(env, world, kind, lines, day0)
            templates.append((kind, weight / len(LINE_SETS), order, bundle))
    _logger.info("dataset: order templates made")
    cr = env.cr
    existing_relations = set()
    for table in RELATIONS:
        cr.execute(SQL("SELECT to_regclass(%s)", table))
        if cr.fetchone()[0]:
            existing_relations.add(table)
    partner_pick = _skewed_picker(rng, world["partners"], exponent=0.75)
    user_pick = _skewed_picker(rng, world["users"], exponent=0.5)
    weights = [t[1] for t in templates]
    unpaid = {
        index: [kind for kind, *_rest in templates].index("invoiced")
        + index % len(LINE_SETS)
        for index in range(len(templates))
    }
    plan = defaultdict(list)
    for _n in range(count):
        index = rng.choices(range(len(templates)), weights=weights)[0]
        partner = partner_pick()
        user = user_pick()
        team = world["team_of_user"][user.id]
        shift = _seasonal_day(rng, day0)
        if shift > DAYS - PAYMENT_DELAY and templates[index][0] in ("partial", "paid"):
            # Invoiced too recently to be paid yet.
            index = unpaid[index]
        plan[index].append((partner, user, team, shift))
    # Names: orders numbered in date order after the templates; invoices and payments
    # numbered per journal and year in date order.
    order_seq = env["ir.sequence"].search([("code", "=", "sale.order")], limit=1)
    every = sorted(
        (shift, index, pos)
        for index, rows in plan.items()
        for pos, (_p, _u, _t, shift) in enumerate(rows)
    )
    next_order = order_seq.number_next_actual
    order_names = {}
    move_counters = {}
    move_names = {}
    # Plain data of the template moves, read once: the loop runs per order.
    template_moves = [
        [
            (move.id, move.sequence_prefix, move.date, move.journal_id.id)
            for move in env["account.move"].browse(bundle.get("account_move", []))
        ]
        for _kind, _weight, _order, bundle in templates
    ]
    seq_prefix, seq_suffix = order_seq._get_prefix_suffix()
    for shift, index, pos in every:
        order_names[(index, pos)] = (
            f"{seq_prefix}{next_order:0{order_seq.padding}d}{seq_suffix}"
        )
        next_order += 1
        for move_id, move_prefix, move_date, journal_id in template_moves[index]:
            year = (move_date + timedelta(days=shift)).year
            prefix = move_prefix.replace(str(move_date.year), str(year))
            if prefix not in move_counters:
                cr.execute(
                    SQL(
                        "SELECT COALESCE(MAX(sequence_number), 0) FROM account_move "
                        "WHERE journal_id = %s AND sequence_prefix = %s",
                        journal_id,
                        prefix,
                    )
                )
                move_counters[prefix] = cr.fetchone()[0]
            move_counters[prefix] += 1
            move_names[(index, pos, move_id)] = (prefix, move_counters[prefix])
    order_seq.write({"number_next": next_order})
    _logger.info("dataset: orders planned")
    for index, rows in sorted(plan.items()):
        kind, _w, order, bundle = templates[index]
        moves = env["account.move"].browse(bundle.get("account_move", []))
        variables = {
            "shift": "int",
            "partner_id": "int",
            "partner_name": "varchar",
            "user_id": "int",
            "team_id": "int",
            "sales_region_id": "int",
            "order_name": "varchar",
        }
        tokens = [(order.name, "order_name")]
        for n, move in enumerate(moves):
            variables[f"move_name_{n}"] = "varchar"
            variables[f"move_prefix_{n}"] = "varchar"
            variables[f"move_number_{n}"] = "int"
            tokens.append((move.name, f"move_name_{n}"))
        copies = []
        for pos, (partner, user, team, shift) in enumerate(rows):
            row = [
                shift,
                partner["id"],
                partner["name"],
                user.id,
                team.id,
                team.sales_region_id.id,
                order_names[(index, pos)],
            ]
            for move in moves:
                prefix, number = move_names[(index, pos, move.id)]
                width = len(move.name) - len(move.sequence_prefix)
                row += [f"{prefix}{number:0{width}d}", prefix, number]
            copies.append(row)
        aliases = {
            "sale_order": {
                "partner_invoice_id": "partner_id",
                "partner_shipping_id": "partner_id",
                "name": "order_name",
            },
            "sale_order_line": {
                "order_partner_id": "partner_id",
                "salesman_id": "user_id",
            },
            "account_move": {
                "commercial_partner_id": "partner_id",
                "partner_shipping_id": "partner_id",
                "invoice_user_id": "user_id",
                "invoice_partner_display_name": "partner_name",
            },
        }
        tables = [
            (table, bundle[table]) for table in BUNDLE_ORDER if bundle.get(table)
        ] + [(table, None) for table in RELATIONS if table in existing_relations]
        row_variables = {
            ("account_move", "sequence_prefix"): {
                move.id: f"move_prefix_{n}" for n, move in enumerate(moves)
            },
            ("account_move", "sequence_number"): {
                move.id: f"move_number_{n}" for n, move in enumerate(moves)
            },
        }
        blocks = clone_bundle(
            env, tables, copies, variables, aliases, tokens, row_variables
        )
        _logger.debug("dataset: %s copies of a %s order cloned", len(rows), kind)
        _fix_matching_numbers(env, blocks, len(rows))
    env.invalidate_all()


def _fix_matching_numbers(env, blocks, count):
    """Matching numbers of the cloned lines: their full or first partial
    reconciliation (see ``account.partial.reconcile._update_matching_number``)."""
    cr = env.cr
    if "account_move_line" in blocks:
        line_first, line_k = blocks["account_move_line"]
        line_last = line_first + line_k * count - 1
        cr.execute(
            SQL(
                """
                UPDATE account_move_line
                   SET matching_number = full_reconcile_id::text
                 WHERE id BETWEEN %s AND %s AND full_reconcile_id IS NOT NULL
                """,
                line_first,
                line_last,
            )
        )
    if "account_partial_reconcile" in blocks:
        partial_first, partial_k = blocks["account_partial_reconcile"]
        cr.execute(
            SQL(
                """
                UPDATE account_move_line l SET matching_number = 'P' || p.number
                  FROM (SELECT line_id, MIN(id) AS number
                          FROM (SELECT id, debit_move_id AS line_id
                                  FROM account_partial_reconcile
                                 WHERE id BETWEEN %(first)s AND %(last)s
                                 UNION ALL
                                SELECT id, credit_move_id
                                  FROM account_partial_reconcile
                                 WHERE id BETWEEN %(first)s AND %(last)s) AS sides
                         GROUP BY line_id) AS p
                 WHERE l.id = p.line_id AND l.full_reconcile_id IS NULL
                """,
                first=partial_first,
                last=partial_first + partial_k * count - 1,
            )
        )


# ----------------------------------------------------------------------------
# Tickets, calls, visits
# ----------------------------------------------------------------------------


def _make_tickets(env, world, count, rng):
    Ticket = env["helpdesk.ticket"]
    stages = env["helpdesk.ticket.stage"].search([], order="sequence, id")
    tmpl_partner = world["template_partner"]
    templates = []
    for stage in stages:
        templates.append(
            Ticket.create(
                {
                    "name": "Gen template",
                    "description": "<p>Generated ticket</p>",
                    "partner_id": tmpl_partner.id,
                    "stage_id": stage.id,
                    "user_id": world["users"][0].id,
                }
            )
        )
    env.flush_all()
    weights = [0.1 if not s.closed else 0.25 for s in stages]
    partner_pick = _skewed_picker(rng, world["partners"], exponent=1.0)
    seq = env["ir.sequence"].search(
        [("code", "=", "helpdesk.ticket.sequence")], limit=1
    )
    plan = defaultdict(list)
    for _n in range(count):
        index = rng.choices(range(len(templates)), weights=weights)[0]
        plan[index].append((_seasonal_day(rng, world["day0"]), partner_pick()))
    next_number = seq.number_next_actual
    variables = {
        "shift": "int",
        "name": "varchar",
        "number": "varchar",
        "partner_id": "int",
        "commercial_partner_id": "int",
        "partner_name": "varchar",
        "partner_email": "varchar",
        "user_id": "int",
        "sales_region_id": "int",
    }
    for index, rows in sorted(plan.items()):
        template = templates[index]
        # Ticket dates shift from the template's creation day.
        copies = []
        for shift, partner in sorted(rows, key=lambda r: r[0]):
            copies.append(
                (
                    shift - DAYS,
                    f"{rng.choice(TICKET_TOPICS)} #{next_number}",
                    seq.get_next_char(next_number),
                    partner["id"],
                    partner["id"],
                    partner["name"],
                    partner["email"],
                    rng.choice(world["users"]).id,
                    partner["region"],
                )
            )
            next_number += 1
        clone_bundle(env, [("helpdesk_ticket", [template.id])], copies, variables)
    seq.write({"number_next": next_number})
    env.invalidate_all()


def _make_calls(env, world, count, rng):
    if "crm.phonecall" not in env:
        return
    lead_ids = world["leads"]
    template = env["crm.phonecall"].create(
        {
            "name": "Gen template call",
            "partner_id": world["partners"][0]["id"],
            "user_id": world["users"][0].id,
            "date": fields.Datetime.now(),
            "opportunity_id": lead_ids[0],
        }
    )
    # Held: the closing date is set (copies without one take NULL).
    template.write({"state": "done"})
    env.flush_all()
    cr = env.cr
    now = datetime.combine(world["today"], dtime(0))
    call_states, call_weights = zip(*CALL_STATES, strict=True)
    cr.execute(
        SQL(
            "SELECT id, partner_id, user_id, team_id, create_date FROM crm_lead "
            "WHERE id = ANY(%s)",
            lead_ids,
        )
    )
    leads = cr.fetchall()
    copies = []
    for _n in range(count):
        lead_id, partner_id, user_id, team_id, created = rng.choice(leads)
        when = created + timedelta(days=rng.randrange(0, 60), hours=rng.randrange(9))
        state = "open"
        if when < now:
            state = rng.choices(call_states, weights=call_weights)[0]
        duration = round(rng.expovariate(1 / 6), 2) if state == "done" else 0.0
        copies.append(
            (
                f"Call about {lead_id}",
                partner_id,
                user_id,
                team_id,
                lead_id,
                when,
                when,
                when,
                duration,
                state,
                when + timedelta(minutes=duration) if state == "done" else None,
            )
        )
    variables = {
        "name": "varchar",
        "partner_id": "int",
        "user_id": "int",
        "team_id": "int",
        "opportunity_id": "int",
        "date": "timestamp",
        "create_date": "timestamp",
        "write_date": "timestamp",
        "duration": "float8",
        "state": "varchar",
        "date_closed": "timestamp",
    }
    clone_bundle(env, [("crm_phonecall", [template.id])], copies, variables)
    env.invalidate_all()


def _key_accounts(env, world, count, rng):
    """The biggest customers (confirmed sales), each followed by one salesperson:
    ``[(partner id, user)]``."""
    partner_ids = [partner["id"] for partner in world["partners"]]
    env.cr.execute(
        SQL(
            """
            SELECT partner_id FROM sale_order
             WHERE state = 'sale' AND partner_id = ANY(%s)
             GROUP BY partner_id
             ORDER BY SUM(amount_untaxed) DESC, partner_id
             LIMIT %s
            """,
            partner_ids,
            count,
        )
    )
    return [(row[0], rng.choice(world["users"])) for row in env.cr.fetchall()]


def _work_state(rng, day, today, duration):
    """State, outcome and done time of customer work on ``day`` (a datetime)."""
    if day.date() >= today:
        return (
            ("cancelled" if rng.random() < FUTURE_CANCELLED else "planned"),
            None,
            None,
        )
    draw = rng.random()
    for state, share in PAST_NOT_DONE:
        if draw < share:
            return state, None, None
        draw -= share
    done = day + timedelta(hours=duration, minutes=rng.randrange(5, 300))
    return "done", rng.choice(VISIT_OUTCOMES), done


def _make_visits(env, world, count, rng):
    """Customer work on the calendar: visits, meetings and demos about leads, and the
    routine visits of the key accounts over the last months (without a lead)."""
    lead_ids = world["leads"]
    today = world["today"]
    cr = env.cr
    cr.execute(
        SQL(
            "SELECT l.id, l.partner_id, l.user_id, u.partner_id, l.create_date "
            "FROM crm_lead l JOIN res_users u ON u.id = l.user_id "
            "WHERE l.id = ANY(%s)",
            lead_ids,
        )
    )
    leads = cr.fetchall()
    first_lead = leads[0]
    start = datetime.combine(world["day0"], dtime(10))
    lead_model_id = env["ir.model"]._get_id("crm.lead")
    template = env["calendar.event"].create(
        {
            "name": "Gen template visit",
            "start": start,
            "stop": start + timedelta(hours=1),
            "user_id": first_lead[2],
            "partner_ids": [Command.set([first_lead[1], first_lead[3]])],
            "opportunity_id": first_lead[0],
            "res_model_id": lead_model_id,
            "res_id": first_lead[0],
            "location": "Customer site",
            "sfa_kind": "visit",
            "sfa_partner_id": first_lead[1],
        }
    )
    # Done with an outcome: the columns copies take per copy are all filled.
    template.write(
        {
            "sfa_state": "done",
            "sfa_outcome": VISIT_OUTCOMES[0],
            "sfa_date_done": start + timedelta(hours=2),
        }
    )
    env.flush_all()
    _date_templates(
        env,
        {
            "calendar_event": template.ids,
            "calendar_attendee": template.attendee_ids.ids,
        },
        world["day0"],
    )
    attendees = template.attendee_ids.sorted("id")
    customer_attendee = attendees.filtered(lambda a: a.partner_id.id == first_lead[1])
    user_attendee = attendees - customer_attendee
    partners = {partner["id"]: partner for partner in world["partners"]}
    kinds, kind_names, kind_weights = zip(*VISIT_KINDS, strict=True)
    kind_names = dict(zip(kinds, kind_names, strict=True))
    duration = template.duration
    plan = []  # (day offset, kind, lead id or None, customer id, user id)
    routine = 0
    if world["key_accounts"]:
        routine = min(
            int(count * ROUTINE_SHARE), ROUTINE_MAX * len(world["key_accounts"])
        )
    for n in range(routine):
        partner_id, user = world["key_accounts"][n % len(world["key_accounts"])]
        plan.append((None, "visit", None, partner_id, user.id, n))
    for _n in range(count - routine):
        lead_id, partner_id, user_id, _user_partner, created = rng.choice(leads)
        offset = (created.date() - world["day0"]).days + rng.randrange(3, 45)
        kind = rng.choices(kinds, weights=kind_weights)[0]
        plan.append((offset, kind, lead_id, partner_id, user_id, None))
    # Routine visits: every 10 to 20 days backwards from a recent one, on weekdays.
    rhythm = {}
    for partner_id, _user in world["key_accounts"]:
        every = rng.randrange(10, 21)
        rhythm[partner_id] = [every, DAYS - rng.randrange(1, every + 1)]
    user_partners = {user.id: user.partner_id.id for user in world["users"]}
    for _lead_id, _pid, user_id, user_partner, _created in leads:
        user_partners[user_id] = user_partner
    copies = []
    for offset, kind, lead_id, partner_id, user_id, routine_n in plan:
        if routine_n is not None:
            offset = rhythm[partner_id][1]
            rhythm[partner_id][1] -= rhythm[partner_id][0] + rng.randrange(-2, 3)
        day = world["day0"] + timedelta(days=offset)
        if day.weekday() >= 5:
            offset -= day.weekday() - 4
        when = start + timedelta(days=offset)
        state, outcome, done = _work_state(rng, when, today, duration)
        partner = partners[partner_id]
        copies.append(
            (
                offset,
                f"{kind_names[kind]} {partner['name']}",
                user_id,
                lead_id,
                lead_id,
                lead_model_id if lead_id else None,
                "crm.lead" if lead_id else None,
                partner_id,
                user_partners[user_id],
                kind,
                state,
                outcome,
                done,
                partner["region"],
                world["team_of_user"][user_id].id,
            )
        )
    variables = {
        "shift": "int",
        "name": "varchar",
        "user_id": "int",
        "opportunity_id": "int",
        "res_id": "int",
        "res_model_id": "int",
        "res_model": "varchar",
        "customer_id": "int",
        "user_partner_id": "int",
        "sfa_kind": "varchar",
        "sfa_state": "varchar",
        "sfa_outcome": "text",
        "sfa_date_done": "timestamp",
        "sales_region_id": "int",
        "sfa_team_id": "int",  # the salesperson's office (their only team)
    }
    aliases = {
        "calendar_attendee": {"partner_id": "customer_id"},
        "calendar_event": {"sfa_partner_id": "customer_id"},
    }
    blocks = clone_bundle(
        env,
        [
            ("calendar_event", template.ids),
            ("calendar_attendee", attendees.ids),
        ],
        copies,
        variables,
        aliases,
    )
    # The attendee and the partner relation of the salesperson: the cloner gave every
    # row the customer; put the salesperson back on the salesperson's rows.
    first, k = blocks["calendar_attendee"]
    user_index = sorted(attendees.ids).index(user_attendee.id)
    cr.execute(
        SQL(
            """
            UPDATE calendar_attendee a SET partner_id = g.user_partner_id,
                   common_name = p.name
              FROM gen_copy g, res_partner p
             WHERE a.id = %s + g.q * %s + %s AND p.id = g.user_partner_id
            """,
            first,
            k,
            user_index,
        )
    )
    cr.execute(
        SQL(
            """
            UPDATE calendar_attendee a SET common_name = p.name
              FROM gen_copy g, res_partner p
             WHERE a.id = %s + g.q * %s + %s AND p.id = g.customer_id
            """,
            first,
            k,
            1 - user_index,
        )
    )
    event_first, _k = blocks["calendar_event"]
    cr.execute(
        SQL(
            """
            INSERT INTO calendar_event_res_partner_rel
                   (calendar_event_id, res_partner_id)
            SELECT DISTINCT %s + g.q, v.partner_id FROM gen_copy g
             CROSS JOIN LATERAL (VALUES (g.customer_id), (g.user_partner_id))
                   AS v(partner_id)
             WHERE v.partner_id IS NOT NULL
            """,
            event_first,
        )
    )
    env.invalidate_all()


# ----------------------------------------------------------------------------
# Contact cadence, visit schedules
# ----------------------------------------------------------------------------


def _cadence_tags(env):
    """``{interval: tag id}`` of the cadence tags, made once per database."""
    Category = env["res.partner.category"].with_context(active_test=False)
    tags = {}
    for name, days, *_rest in [KEY_ACCOUNT_TAG, *CADENCE_TAGS]:
        tag = Category.search(
            [("name", "=", name), ("contact_interval_days", "=", days)], limit=1
        )
        tags[days] = (
            tag or Category.create({"name": name, "contact_interval_days": days})
        ).id
    return tags


def _set_contact_cadence(env, world):
    """Customers, tags, contact interval and last and next contact of the generated
    partners, set-based, as Odoo has them.

    A partner is a customer when it was invoiced (``account.move._post`` counts the
    posted invoices in ``customer_rank``). The key accounts are tagged as such, the
    other customers by how often they were contacted; then one UPDATE per computed
    field, as ``_compute_contact_interval_days``, ``_compute_date_last_contact`` and
    ``_compute_date_next_contact`` compute them.
    """
    cr = env.cr
    env.flush_all()
    tags = _cadence_tags(env)
    # The partners were inserted in this transaction: PostgreSQL would check each of
    # their foreign keys again on every update, while none of them changes.
    cr.execute("SET LOCAL session_replication_role = replica")
    partner_ids = [partner["id"] for partner in world["partners"]]
    # The generated partners are one block of ids (see _make_partners).
    first, last = partner_ids[0], partner_ids[-1]
    cr.execute(
        SQL(
            """
            UPDATE res_partner p SET customer_rank = COALESCE(i.n, 0)
              FROM res_partner g
              LEFT JOIN (SELECT partner_id, COUNT(*) AS n FROM account_move
                          WHERE move_type = 'out_invoice' AND state = 'posted'
                            AND partner_id BETWEEN %(first)s AND %(last)s
                          GROUP BY partner_id) i ON i.partner_id = g.id
             WHERE p.id = g.id AND g.id BETWEEN %(first)s AND %(last)s
            """,
            first=first,
            last=last,
        )
    )
    # Contacts of each commercial entity: done customer work, held calls, confirmed
    # orders of its members (what _contact_last_dates reads), counted and the last
    # one, in a table of their own. The statistics of the tables just filled are
    # stale: without them, the planner nests loops over tens of thousands of rows.
    cr.execute("ANALYZE res_partner, calendar_event, crm_phonecall, sale_order")
    cr.execute("DROP TABLE IF EXISTS gen_contact")
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE gen_contact AS
            SELECT m.commercial_partner_id AS entity_id, COUNT(*) AS n,
                   MAX(c.date) AS date
              FROM (SELECT sfa_partner_id AS partner_id, start AS date
                      FROM calendar_event WHERE sfa_state = 'done' AND active
                    UNION ALL
                    SELECT partner_id, date FROM crm_phonecall
                     WHERE state = 'done' AND active AND date IS NOT NULL
                    UNION ALL
                    SELECT partner_id, date_order FROM sale_order
                     WHERE state = 'sale'
                   ) c
              JOIN res_partner m ON m.id = c.partner_id
             WHERE m.commercial_partner_id BETWEEN %s AND %s
             GROUP BY m.commercial_partner_id
            """,
            first,
            last,
        )
    )
    cr.execute("ANALYZE gen_contact")
    key_ids = {partner_id for partner_id, _user in world["key_accounts"]}
    cr.execute("SELECT entity_id, n FROM gen_contact")
    counts = dict(cr.fetchall())
    rows = []
    for partner_id in partner_ids:
        if partner_id in key_ids:
            rows.append((tags[KEY_ACCOUNT_TAG[1]], partner_id))
            continue
        target = CADENCE_FACTOR * DAYS / max(counts.get(partner_id, 0), 1)
        if target < CADENCE_DEFAULT_BELOW:
            continue
        days = next(d for _n, d, top in CADENCE_TAGS if top is None or target < top)
        rows.append((tags[days], partner_id))
    cr.execute(
        SQL(
            """
            INSERT INTO res_partner_res_partner_category_rel (category_id, partner_id)
            SELECT * FROM unnest(%s::int[], %s::int[])
            """,
            [row[0] for row in rows],
            [row[1] for row in rows],
        )
    )
    scope = SQL(
        "p.id BETWEEN %s AND %s AND p.id = p.commercial_partner_id", first, last
    )
    cr.execute(
        SQL(
            """
            UPDATE res_partner p
               SET contact_interval_days = CASE
                   WHEN p.customer_rank <= 0 THEN 0
                   ELSE COALESCE(
                       (SELECT MIN(t.contact_interval_days)
                          FROM res_partner_res_partner_category_rel r
                          JOIN res_partner_category t ON t.id = r.category_id
                         WHERE r.partner_id = p.id AND t.contact_interval_days > 0),
                       c.crm_contact_interval_days) END
              FROM res_company c
             WHERE c.id = COALESCE(p.company_id, %s)
               AND NOT COALESCE(p.contact_interval_manual, FALSE) AND %s
            """,
            env.company.id,
            scope,
        )
    )
    cr.execute(
        SQL(
            """
            UPDATE res_partner p SET date_last_contact = l.date
              FROM res_partner g
              LEFT JOIN gen_contact l ON l.entity_id = g.id
             WHERE p.id = g.id AND %s
            """,
            scope,
        )
    )
    cr.execute(
        SQL(
            """
            UPDATE res_partner p SET date_next_contact = CASE
                   WHEN p.contact_interval_days > 0
                   THEN COALESCE(p.date_last_contact, p.create_date)::date
                        + p.contact_interval_days
                   END
             WHERE %s
            """,
            scope,
        )
    )
    cr.execute("SET LOCAL session_replication_role = origin")
    cr.execute("DROP TABLE gen_contact")
    env.invalidate_all()


def _make_visit_schedules(env, world, rng):
    """Recurring visits of the key accounts, by their salesperson; the planning job
    plans their visits."""
    today = world["today"]
    vals_list = []
    for partner_id, user in world["key_accounts"]:
        weekly = rng.random() < 0.6
        vals_list.append(
            {
                "partner_id": partner_id,
                "user_id": user.id,
                "interval_type": "weeks" if weekly else "per_month",
                "interval": rng.choice((1, 2, 2, 3)) if weekly else rng.choice((1, 2)),
                "weekday": str(rng.randrange(5)),
                "hour": float(rng.randrange(8, 17)),
                "duration": rng.choice((1.0, 1.0, 1.5, 2.0)),
                "date_start": today - timedelta(days=rng.randrange(0, 90)),
            }
        )
    env["crm.visit.schedule"].create(vals_list)
    env.flush_all()


def table_count(env, table):
    env.cr.execute(SQL("SELECT COUNT(*) FROM %s", SQL.identifier(table)))
    return env.cr.fetchone()[0]


__all__ = [
    "SIZES",
    "DatasetError",
    "check_target",
    "generate",
    "reserve_ids",
    "table_columns",
    "table_count",
]
