"""Screenshots of crm_extended's screens as each role that uses them.

Usage: dev/screenshots [--db DB | --url URL] [--roles ROLE,...] [--only WORD,...]
                       [--jobs N] [--out DIR] [--chromium PATH]
       make screenshots [DB=...] [URL=...] [ROLES=...]

Serves Odoo (dev/odoo) on the database, default ``crm_extended``, the one ``make run``
fills with the demo data (``--db`` or the ``SCREENSHOTS_DB`` variable choose another),
on a free port of 127.0.0.1 for the run, and stops it at the end; or uses a running
server given by ``--url`` (with ``--db`` when it serves several databases). Then, for
each role that has a demo user (``ROLES``: administrator, bonus manager, who is also a
sales manager, regional manager, salesperson, telesales agent), it logs in through the
login page of a headless Chromium of its own, in the user's time zone, and shoots:

- the screens of ``CORE_SCREENS`` whose menu the role sees: the team dashboards, the
  CRM landing (pipeline), customers, forecasts and a forecast's rollup, Forecast
  Analysis, Forecast Accuracy, the agent's call queue, a call entry and "Next Call"
  (then "Put back", leaving the queue as it was), Plan My Week with "Propose Customers
  Due" pressed, the helpdesk tickets; with the form of the first record where a
  screen lists records;
- then every other menu the role sees, read from the web client's own menus, that
  crm_extended added or that opens one of crm_extended's actions: the action's first
  view and, when it lists records, the form of the first one.

Each screen opens from its menu as a click would, at 1440x900 and at 1280x800; the
shot takes the whole height of the scrolled content (at most ``MAX_HEIGHT`` pixels):
``.dev/screenshots/<role>/<nn>-<screen>-<width>.png``, and
``.dev/screenshots/index.html`` shows them by role. Before each shot the web client
must be idle: no request in flight, no loading indicator, the page unchanged for
``QUIET`` seconds, charts drawn. A screen fails when it does not load, shows an error
dialog or a danger notification, throws a JavaScript error, or gets an error from the
server (an HTTP status of 400 or more, a JSON-RPC error, even one the web client keeps
quiet): it is still shot, listed at the end and in the index, and the script exits
with 1.

Chromium (``/usr/bin/chromium``, ``--chromium`` or ``CHROMIUM_BIN``) is driven through
the Chrome DevTools protocol over websocket-client, one of Odoo's own requirements, as
Odoo's tour machinery does: nothing to download. Not Playwright: it needs
greenlet>=3.1.1, where Odoo 18.0 pins greenlet 2.0.2 (Python 3.11) for its gevent.
Two roles are shot at a time (``--jobs``).

Passwords: admin/admin, and "demo" for the one demo user of each other role (see
crm_extended/demo/README); on a database installed before the demo gave them, set
them with ``dev/odoo shell``. A role that cannot log in fails.
"""

import argparse
import base64
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SIZES = ((1440, 900), (1280, 800))
# A longer screen is cut there (a pipeline of hundreds of cards)
MAX_HEIGHT = 4000
IDLE_TIMEOUT = 30
QUIET = 0.3
PRINT_LOCK = threading.Lock()


@dataclass
class Role:
    key: str
    title: str
    login: str
    password: str


# One demo user per role of DESIGN.md that the demo has. The demo has no user who is
# a sales manager only (the bonus manager is one) and no accountant but admin.
ROLES = [
    Role("admin", "Administrator", "admin", "admin"),
    Role("bonus_manager", "Bonus manager (and sales manager)", "sp.emma@demo", "demo"),
    Role("regional_manager", "Regional manager", "sp.liam@demo", "demo"),
    Role("salesperson", "Salesperson", "sp.benjamin@demo", "demo"),
    Role("telesales_agent", "Telesales agent", "sp.emily@demo", "demo"),
]


@dataclass
class Screen:
    """A path through the web client: its menu (the first of ``menus`` the role sees;
    none: the screen is left out), then ``steps``, of which ``shot`` saves what is on
    screen. ``background``: a menu opened first, for a dialog to open over it."""

    key: str
    menus: tuple
    steps: list = field(default_factory=list)
    background: str = None


def shot(name):
    return ("shot", name)


def click(selector, what):
    """Click a button that must be there."""
    return ("click", selector, what)


def cleanup(selector):
    """Click a button if it is there: to leave the data as it was."""
    return ("cleanup", selector)


def open_first(name):
    """Open the first record of the list or kanban, and shoot its form."""
    return ("open_first", name)


CORE_SCREENS = [
    Screen("teams", ("crm.sales_team_menu_team_pipeline",), [shot("teams")]),
    Screen("my-teams", ("crm_extended.crm_team_menu_my_teams",), [shot("my-teams")]),
    Screen(
        "pipeline",
        ("crm.crm_menu_root",),
        [shot("pipeline"), open_first("pipeline-form")],
    ),
    Screen(
        "customers",
        ("crm.res_partner_menu_customer", "contacts.menu_contacts"),
        [shot("customers"), open_first("customer-form")],
    ),
    Screen(
        "forecasts",
        ("crm_extended.crm_forecast_menu",),
        [shot("forecasts"), open_first("forecast-form")],
    ),
    Screen(
        "forecast-analysis",
        ("crm_extended.crm_forecast_line_menu",),
        [shot("forecast-analysis")],
    ),
    Screen(
        "forecast-accuracy",
        ("crm_extended.crm_forecast_accuracy_report_menu",),
        [shot("forecast-accuracy")],
    ),
    Screen(
        "call-queue",
        ("crm_extended.crm_call_list_entry_menu_my_queue",),
        [shot("call-queue"), open_first("call-entry-form")],
    ),
    Screen(
        "next-call",
        ("crm_extended.crm_call_list_entry_menu_my_queue",),
        [
            click("button[name=action_next_call]", '"Next Call"'),
            shot("next-call"),
            cleanup(".o_form_view button[name=action_release]"),
        ],
    ),
    Screen(
        "call-lists",
        ("crm_extended.crm_call_list_menu",),
        [shot("call-lists"), open_first("call-list-form")],
    ),
    Screen(
        "plan-my-week",
        ("crm_extended.crm_plan_week_wizard_menu",),
        [
            shot("plan-my-week"),
            click(".modal button[name=action_propose]", '"Propose Customers Due"'),
            shot("plan-my-week-proposed"),
        ],
        background="crm.crm_menu_root",
    ),
    Screen(
        "helpdesk-tickets",
        (
            "helpdesk_mgmt.helpdesk_all_ticket_menu",
            "helpdesk_mgmt.helpdesk_own_ticket_menu",
        ),
        [shot("helpdesk-tickets"), open_first("ticket-form")],
    ),
]

# ------------------------------------------------------------------
# What runs in the page
# ------------------------------------------------------------------

# Injected in every page: counts the changes of the page, tells whether the web
# client shows something loading, and keeps the errors the server answered to its
# requests (JSON-RPC errors come with HTTP 200, and some are caught without a word).
PAGE_SCRIPT = """
(() => {
    let mutations = 0;
    new MutationObserver(() => mutations++).observe(document, {
        subtree: true, childList: true, attributes: true, characterData: true,
    });
    const errors = [];
    const open = XMLHttpRequest.prototype.open;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
        this.addEventListener("load", () => {
            let reply;
            try {
                reply = JSON.parse(this.responseText);
            } catch {
                return;
            }
            const error = reply && reply.error;
            if (error) {
                const data = error.data || {};
                const text = `${data.name || error.message}: ${data.message || ""}`;
                const said = text.replace(/\\s+/g, " ").slice(0, 300);
                errors.push(`${url} answered ${said}`);
            }
        });
        return open.call(this, method, url, ...rest);
    };
    window.__screenshots = {
        errors,
        state() {
            return {
                ready: document.readyState === "complete",
                busy: !!document.querySelector(".o_loading_indicator, .o_blockUI"),
                mutations,
            };
        },
    };
})();
"""

JS_WEBCLIENT = """() => !!(window.odoo && odoo.__WOWL_DEBUG__
    && document.querySelector(".o_web_client .o_action_manager"))"""

JS_MENUS = """() => odoo.__WOWL_DEBUG__.root.env.services.menu.getAll().map(
    (m) => ({id: m.id, xmlid: m.xmlid || "", name: m.name || "",
             actionID: m.actionID || false, actionModel: m.actionModel || "",
             children: m.children || []}))"""

# What the navbar does on a click on the menu (not awaited: a dialog's action ends
# when the dialog closes)
JS_SELECT_MENU = """(menuId) => {
    odoo.__WOWL_DEBUG__.root.env.services.menu.selectMenu(menuId).catch(
        (error) => window.__screenshots.errors.push(
            "the menu's action failed: " + (error.message || error)));
}"""

JS_CLICK = """(selector) => {
    const el = document.querySelector(selector);
    if (el) el.click();
    return !!el;
}"""

# The first record of the list or kanban on screen: a cell that opens it (not a
# button, a toggle, a handle or a link), or the kanban card itself; none when the view
# shows sample data (its records cannot be opened).
JS_OPEN_FIRST = """() => {
    const root = document.querySelector(".o_action_manager > .o_action");
    if (!root || root.querySelector(".o_view_sample_data")) return false;
    const row = root.querySelector(".o_list_renderer .o_data_row");
    if (row) {
        const skip = /o_(handle|boolean_toggle|priority|list_button|list_boolean)/;
        const cell = [...row.querySelectorAll("td.o_data_cell")].find(
            (td) => !skip.test(td.className)
                && !td.querySelector("button, a, input, .o_priority, .o_field_handle"));
        if (cell) cell.click();
        return !!cell;
    }
    const card = root.querySelector(".o_kanban_record:not(.o_kanban_ghost)");
    if (card) card.click();
    return !!card;
}"""

JS_FORM_OPEN = "() => !!document.querySelector('.o_action_manager .o_form_view')"

JS_MODAL_OPEN = "() => !!document.querySelector('.modal')"

# What a user sees as an error: an error dialog, a danger notification.
JS_PROBLEMS = """() => {
    const text = (el) => el.innerText.replace(/\\s+/g, " ").trim().slice(0, 300);
    const problems = [];
    for (const dialog of document.querySelectorAll(".o_error_dialog")) {
        problems.push("error dialog: " + text(dialog));
    }
    for (const note of document.querySelectorAll(".o_notification")) {
        if (note.matches(".border-danger") || note.querySelector(".bg-danger")) {
            problems.push("danger notification: " + text(note));
        }
    }
    problems.push(...window.__screenshots.errors.splice(0));
    return problems;
}"""

# How much taller than the window the content is: the largest overflow of the page or
# of an element that scrolls vertically (Odoo scrolls in .o_content, a dialog's body)
JS_OVERFLOW = """() => {
    let extra = Math.max(0, document.documentElement.scrollHeight - window.innerHeight);
    for (const el of document.querySelectorAll("body *")) {
        if (el.scrollHeight <= el.clientHeight + 1) continue;
        const overflow = getComputedStyle(el).overflowY;
        if (overflow === "auto" || overflow === "scroll") {
            extra = Math.max(extra, el.scrollHeight - el.clientHeight);
        }
    }
    return extra;
}"""

# Charts drawn in their final state, not halfway through their animation
JS_SETTLE_CHARTS = """() => {
    for (const chart of Object.values(window.Chart ? Chart.instances : {})) {
        chart.update("none");
    }
}"""

# Notifications left by a screen, closed before the next one. Among them, after the
# web client is loaded again while the bus's shared worker of the page before lives
# on: "The page is out of date", no screen's doing.
JS_CLOSE_NOTIFICATIONS = """() => {
    for (const button of document.querySelectorAll(".o_notification_close")) {
        button.click();
    }
}"""

JS_LOGIN = """(login, password) => {
    const form = document.querySelector("form.oe_login_form");
    if (!form) return false;
    form.querySelector("#login").value = login;
    form.querySelector("#password").value = password;
    form.submit();
    return true;
}"""


JS_LOGIN_REFUSED = """() => {
    const alert = document.querySelector(".oe_login_form .alert-danger");
    return alert ? alert.innerText.trim() : "";
}"""


class Failure(Exception):
    """A screen that did not load or shows an error."""


# ------------------------------------------------------------------
# Chromium
# ------------------------------------------------------------------


class Cdp:
    """A Chrome DevTools protocol session on one page, over its websocket."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.last_id = 0
        self.inflight = {}
        self.problems = []

    def close(self):
        self.ws.close()

    def _send(self, method, params):
        self.last_id += 1
        self.ws.send(
            json.dumps({"id": self.last_id, "method": method, "params": params})
        )
        return self.last_id

    def send(self, method, params=None, timeout=60):
        msg_id = self._send(method, params or {})
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self._receive(remaining)
            if msg is None:
                continue
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise Failure(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            self._event(msg)
        raise Failure(f"Chromium did not answer {method} in {timeout} s")

    def call(self, function, *args, timeout=60):
        """The value of a JavaScript function called with ``args`` in the page."""
        expression = f"({function})({', '.join(json.dumps(arg) for arg in args)})"
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise Failure(f"script failed: {error_text(result['exceptionDetails'])}")
        return result["result"].get("value")

    def pump(self, seconds):
        """Handle the events that arrive during ``seconds``."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self._receive(remaining)
            if msg is not None and "method" in msg:
                self._event(msg)

    def _receive(self, timeout):
        self.ws.settimeout(max(timeout, 0.01))
        try:
            return json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def _event(self, msg):
        method, params = msg["method"], msg.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            # The bus's shared worker loads its script out of the page's sight
            if not url.startswith("data:") and "/bus/websocket_worker" not in url:
                self.inflight[params["requestId"]] = url
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            self.inflight.pop(params["requestId"], None)
        elif method == "Network.responseReceived":
            response = params["response"]
            # A request the server refused or failed (an image, a report, a page)
            if response["status"] >= 400:
                self.problems.append(f"HTTP {response['status']}: {response['url']}")
        elif method == "Runtime.exceptionThrown":
            text = error_text(params["exceptionDetails"])
            self.problems.append(f"JavaScript error: {text}")
        elif method == "Page.javascriptDialogOpening":
            # A confirm() or a "leave the page?": accepted, the answer not awaited
            self._send("Page.handleJavaScriptDialog", {"accept": True})


def error_text(details):
    text = details.get("exception", {}).get("description") or details.get("text")
    return (text or "?").splitlines()[0]


class Browser:
    """A headless Chromium with a profile of its own (one per role: nothing shared)."""

    def __init__(self, binary):
        self.cdp = None
        self.profile = tempfile.mkdtemp(prefix="crm_extended-shots-")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-features=Translate",
                "--no-first-run",
                "--no-default-browser-check",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--lang=en-US",
                f"--remote-debugging-address={HOST}",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = Path(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise Failure(f"Chromium ({binary}) did not start")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        pages = requests.get(f"http://{HOST}:{port}/json/list", timeout=10).json()
        page = next(p for p in pages if p["type"] == "page")
        self.cdp = Cdp(page["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Network"):
            self.cdp.send(f"{domain}.enable")
        self.cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_SCRIPT})

    def close(self):
        if self.cdp:
            self.cdp.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def resize(self, width, height):
        self.cdp.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def press_escape(self):
        for kind in ("keyDown", "keyUp"):
            self.cdp.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": "Escape", "windowsVirtualKeyCode": 27},
            )

    def goto(self, url):
        self.cdp.send("Page.navigate", {"url": url})
        self.settle()

    def settle(self):
        """Let what a click or a navigation started begin, then wait for it."""
        self.cdp.pump(0.2)
        self.wait_idle()

    def wait_idle(self, timeout=IDLE_TIMEOUT):
        """Wait until no request is in flight, nothing shows loading and the page has
        not changed for ``QUIET`` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since, last = time.monotonic(), None
        while time.monotonic() < deadline:
            self.cdp.pump(0.1)
            try:
                state = self.cdp.call("() => window.__screenshots.state()", timeout=10)
            except Failure:
                state = None  # a page being replaced
            if not state or self.cdp.inflight or state["busy"] or not state["ready"]:
                quiet_since, last = time.monotonic(), None
            elif state["mutations"] != last:
                quiet_since, last = time.monotonic(), state["mutations"]
            elif time.monotonic() - quiet_since >= QUIET:
                return
        pending = ", ".join(sorted(set(self.cdp.inflight.values()))[:3])
        raise Failure(
            f"the page did not settle in {timeout} s"
            + (f" (waiting for {pending})" if pending else "")
        )

    def problems(self):
        """What went wrong since the last call, in the page and in the protocol."""
        found = self.cdp.problems + self.cdp.call(JS_PROBLEMS)
        self.cdp.problems = []
        return found

    def screenshot(self, path, width, height):
        """The whole height of the screen's content, at most MAX_HEIGHT pixels."""
        full = min(height + int(self.cdp.call(JS_OVERFLOW) or 0), MAX_HEIGHT)
        if full > height:
            self.resize(width, full)
            self.wait_idle()
        self.cdp.call(JS_SETTLE_CHARTS)
        data = self.cdp.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        if full > height:
            # The window's height again: the next screen waits for its own layout
            self.resize(width, height)


def find_chromium(given):
    names = (given, os.environ.get("CHROMIUM_BIN"), "chromium", "chromium-browser")
    for name in names + ("google-chrome", "google-chrome-stable"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise SystemExit("no Chromium found: dev/setup installs it, or pass --chromium")


# ------------------------------------------------------------------
# Odoo
# ------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def check_local_database(db):
    """``db`` exists and has crm_extended, on the database server of dev/odoo (the
    PG* variables): checked before serving it, as Odoo creates a database it lacks."""
    try:
        with psycopg2.connect(dbname=db) as cnx, cnx.cursor() as cr:
            cr.execute("SELECT state FROM ir_module_module WHERE name = 'crm_extended'")
            row = cr.fetchone()
    except psycopg2.Error:  # no such database, or not an Odoo one
        row = None
    if not row or row[0] != "installed":
        raise SystemExit(
            f"no database {db} with crm_extended: `make run` makes crm_extended with"
            " the demo data; or pass --db"
        )


class Server:
    """dev/odoo serving one database on a free port, for the run."""

    def __init__(self, db, logfile):
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = open(logfile, "w")  # noqa: SIM115 (open while the server runs)
        self.process = subprocess.Popen(
            [
                str(ROOT / "dev" / "odoo"),
                "-d",
                db,
                f"--db-filter=^{re.escape(db)}$",
                f"--http-interface={HOST}",
                f"--http-port={self.port}",
                f"--gevent-port={free_port()}",
                "--max-cron-threads=0",
                "--log-level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise SystemExit(f"Odoo stopped at start: see {logfile}")
            try:
                if requests.get(f"{self.url}/web/health", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise SystemExit(f"Odoo did not answer in 120 s: see {logfile}")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def check_database(url, db):
    """The database of the run: ``db``, or the only one the server serves."""
    reply = requests.post(f"{url}/web/database/list", json={"params": {}}, timeout=60)
    names = reply.json().get("result") or []
    if db is None and len(names) != 1:
        raise SystemExit(f"{url} serves {len(names)} databases: pass --db")
    db = db or names[0]
    if db not in names:
        raise SystemExit(f"no database {db} at {url}")
    return db


def read_setup(url, db, logins):
    """As admin (users cannot read XML ids): the ids of crm_extended's actions, and
    the time zone of each login (the browser takes it: Odoo shows times in the
    browser's zone, and gives a user's first login the browser's zone)."""
    session = requests.Session()

    def call(path, params):
        reply = session.post(f"{url}{path}", json={"params": params}, timeout=60)
        return reply.json().get("result")

    def search_read(model, domain, fields):
        params = {"model": model, "method": "search_read", "kwargs": {}}
        return call("/web/dataset/call_kw", {**params, "args": [domain, fields]}) or []

    auth = call(
        "/web/session/authenticate", {"db": db, "login": "admin", "password": "admin"}
    )
    if not auth or not auth.get("uid"):
        print("! admin/admin cannot log in: menus are kept by their XML id only")
        return set(), {}
    installed = [("name", "=", "crm_extended"), ("state", "=", "installed")]
    if not search_read("ir.module.module", installed, ["name"]):
        raise SystemExit(f"crm_extended is not installed in {db}")
    actions = search_read(
        "ir.model.data",
        [("module", "=", "crm_extended"), ("model", "like", "ir.actions.%")],
        ["res_id"],
    )
    users = search_read("res.users", [("login", "in", logins)], ["login", "tz"])
    return (
        {row["res_id"] for row in actions},
        {row["login"]: row["tz"] for row in users if row["tz"]},
    )


# ------------------------------------------------------------------
# Shooting
# ------------------------------------------------------------------


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "screen"


def role_screens(menus, extended_actions, words=None):
    """The core screens whose menu the role sees, then, in the order of the menus,
    every other menu that crm_extended added or that opens one of its actions (each
    action once); with ``words``, only the screens whose key has one of them.
    Returns [(screen, menu)] and notes."""
    by_id = {str(m["id"]): m for m in menus}
    by_xmlid = {m["xmlid"]: m for m in menus if m["xmlid"]}
    screens, notes, done_actions, done_keys = [], [], set(), set()
    for screen in CORE_SCREENS:
        menu = next((by_xmlid[x] for x in screen.menus if x in by_xmlid), None)
        if menu and menu["actionID"]:
            screens.append((screen, menu))
            done_actions.add(menu["actionID"])
            done_keys.update(step[1] for step in screen.steps if step[0] == "shot")

    def walk(menu, parent_name):
        action = menu["actionID"]
        ours = (menu["xmlid"] or "").startswith("crm_extended.") or (
            action in extended_actions
        )
        if ours and action and action not in done_actions:
            done_actions.add(action)
            if menu["actionModel"] == "ir.actions.server":
                notes.append(f"menu {menu['name']} runs a server action: not opened")
            else:
                key = slug(menu["name"])
                if key in done_keys:
                    key = slug(f"{parent_name} {menu['name']}")
                done_keys.update((key, f"{key}-form"))
                steps = [shot(key), open_first(f"{key}-form")]
                screens.append((Screen(key, (), steps), menu))
        for child in menu["children"]:
            walk(by_id[str(child)], menu["name"])

    walk(by_id["root"], "")
    if words:
        screens = [s for s in screens if any(word in s[0].key for word in words)]
    return screens, notes


class RoleRun:
    """The screens of one role, in a Chromium of its own."""

    def __init__(self, role, url, db, out, words=None, zone=None):
        self.role = role
        self.url = url
        self.db = db
        self.out = out / role.key
        self.words = words
        self.zone = zone
        self.browser = None
        self.numbers = {}
        self.shots = []  # (name, width, path, problems)
        self.failures = []
        self.notes = []

    def say(self, text):
        with PRINT_LOCK:
            print(f"{self.role.key}: {text}", flush=True)

    def execute(self, chromium, extended_actions):
        self.say(f"logging in as {self.role.login}")
        started = time.monotonic()
        try:
            self.browser = Browser(chromium)
            self.run(extended_actions)
        except Exception as error:  # noqa: BLE001 (a role's failure ends only its run)
            self.failures.append(f"{self.role.key}: {error}")
            self.say(f"FAILED: {error}")
        finally:
            self.close()
        if self.words:
            self.notes.append(f"only the screens matching {', '.join(self.words)}")
        self.say(f"{len(self.shots)} shots in {time.monotonic() - started:.0f} s")

    def close(self):
        if self.browser:
            self.browser.close()
            self.browser = None

    def run(self, extended_actions):
        self.out.mkdir(parents=True, exist_ok=True)
        for old in self.out.glob("*.png"):
            old.unlink()
        self.login()
        menus = self.browser.cdp.call(JS_MENUS)
        screens, self.notes = role_screens(menus, extended_actions, self.words)
        by_xmlid = {m["xmlid"]: m["id"] for m in menus if m["xmlid"]}
        # One web client for all the screens: each opens from its menu, at the width
        # in force, as a click would
        for width, height in SIZES:
            self.browser.resize(width, height)
            for screen, menu in screens:
                background = by_xmlid.get(screen.background)
                try:
                    clean = self.run_screen(screen, menu, background, width, height)
                except Failure as error:
                    self.failures.append(
                        f"{self.role.key}/{screen.key} at {width}: {error}"
                    )
                    self.say(f"{screen.key} at {width}: FAILED: {error}")
                    clean = False
                if not clean:
                    self.reset()

    def login(self):
        browser = self.browser
        browser.resize(*SIZES[0])
        if self.zone:
            browser.cdp.send("Emulation.setTimezoneOverride", {"timezoneId": self.zone})
        browser.goto(f"{self.url}/web/login?db={self.db}")
        if not browser.cdp.call(JS_LOGIN, self.role.login, self.role.password):
            raise Failure("no login form at /web/login")
        deadline = time.monotonic() + IDLE_TIMEOUT
        while not browser.cdp.call(JS_WEBCLIENT):
            refused = browser.cdp.call(JS_LOGIN_REFUSED)
            if refused or time.monotonic() > deadline:
                raise Failure(
                    f"cannot log in as {self.role.login} / {self.role.password}: "
                    f"{refused or 'no web client'} (see crm_extended/demo/README)"
                )
            browser.settle()
        browser.settle()
        browser.problems()

    def reset(self):
        """Close what a screen left open: dialogs (Escape, as a user would),
        notifications; else load the web client again."""
        browser = self.browser
        for _attempt in range(4):
            if not browser.cdp.call(JS_MODAL_OPEN):
                break
            browser.press_escape()
            browser.wait_idle()
        else:
            browser.goto(f"{self.url}/odoo")
            if not browser.cdp.call(JS_WEBCLIENT):
                raise Failure("the web client did not load")
        browser.cdp.call(JS_CLOSE_NOTIFICATIONS)
        browser.settle()
        browser.problems()

    def run_screen(self, screen, menu, background, width, height):
        """Open the screen's menu, then its steps. Returns whether the page is left
        clean (no dialog, no failure) for the next screen."""
        cdp = self.browser.cdp
        for menu_id in (background, menu["id"]):
            if menu_id:
                cdp.call(JS_SELECT_MENU, menu_id)
                self.browser.settle()
        for kind, *args in screen.steps:
            if kind == "shot":
                if not self.take(args[0], width, height):
                    return False
            elif kind == "click":
                if not cdp.call(JS_CLICK, args[0]):
                    raise Failure(f"no {args[1]} button on the screen")
                self.browser.settle()
            elif kind == "cleanup":
                if cdp.call(JS_CLICK, args[0]):
                    self.browser.settle()
            elif kind == "open_first":
                if not cdp.call(JS_OPEN_FIRST):
                    break  # no record
                self.browser.settle()
                if not cdp.call(JS_FORM_OPEN):
                    note = f"{screen.key}: its first record opens no form"
                    if note not in self.notes:
                        self.notes.append(note)
                    break
                if not self.take(args[0], width, height):
                    return False
        # What went wrong after the last shot (a form that did not open, a button)
        problems = self.browser.problems()
        if problems:
            raise Failure("; ".join(problems))
        return not cdp.call(JS_MODAL_OPEN)

    def take(self, name, width, height):
        problems = self.browser.problems()
        if name not in self.numbers:
            self.numbers[name] = len(self.numbers) + 1
        path = self.out / f"{self.numbers[name]:02d}-{name}-{width}.png"
        self.browser.screenshot(path, width, height)
        problems += self.browser.problems()
        self.shots.append((name, width, path, problems))
        self.say(
            f"{path.name}  " + ("FAILED: " + "; ".join(problems) if problems else "ok")
        )
        if problems:
            self.failures.append(f"{self.role.key}/{name} at {width}: {problems[0]}")
        return not problems


def write_index(out, runs):
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>crm_extended screenshots</title><style>",
        "body{font-family:sans-serif;margin:1em 2em}",
        "img{width:100%;border:1px solid #ccc}",
        ".row{display:grid;grid-template-columns:1fr 1fr;gap:1em;margin-bottom:2em}",
        ".bad{color:#b00}h3{margin-bottom:.3em}",
        "</style></head><body><h1>crm_extended screenshots</h1>",
        f"<p>Taken {esc(time.strftime('%Y-%m-%d %H:%M'))}, each screen 1440 and 1280",
        " pixels wide (click for the full size).</p><ul>",
    ]
    for run in runs:
        failed = len(run.failures)
        parts.append(
            f"<li><a href='#{run.role.key}'>{esc(run.role.title)}</a>"
            f" ({esc(run.role.login)}): {len(run.shots)} shots"
            + (f", <span class='bad'>{failed} failed</span>" if failed else "")
            + "</li>"
        )
    parts.append("</ul>")
    for run in runs:
        title = f"{esc(run.role.title)} ({esc(run.role.login)})"
        parts.append(f"<h2 id='{run.role.key}'>{title}</h2>")
        parts += [f"<p class='bad'>{esc(failure)}</p>" for failure in run.failures]
        parts += [f"<p>{esc(note)}</p>" for note in run.notes]
        by_name = {}
        for name, width, path, problems in run.shots:
            by_name.setdefault(name, []).append((width, path, problems))
        for name, shots in sorted(by_name.items(), key=lambda i: run.numbers[i[0]]):
            parts.append(
                f"<h3>{run.numbers[name]:02d} {esc(name)}</h3><div class='row'>"
            )
            for width, path, problems in shots:
                src = esc(f"{run.role.key}/{path.name}")
                parts.append(f"<div>{width} px")
                parts += [f"<div class='bad'>{esc(p)}</div>" for p in problems]
                parts.append(
                    f"<a href='{src}'><img loading='lazy' src='{src}'></a></div>"
                )
            parts.append("</div>")
    parts.append("</body></html>")
    (out / "index.html").write_text("\n".join(parts))


def parse_args():
    parser = argparse.ArgumentParser(
        prog="dev/screenshots",
        description="Screenshots of crm_extended's screens as each role "
        "(the header of dev/screenshots.py tells more).",
    )
    parser.add_argument(
        "--db",
        default=os.environ.get("SCREENSHOTS_DB"),
        help="database with crm_extended and its demo data (default crm_extended)",
    )
    parser.add_argument("--url", help="a running server, instead of serving one")
    parser.add_argument(
        "--roles",
        help="comma-separated, among " + ", ".join(role.key for role in ROLES),
    )
    parser.add_argument(
        "--only", help="comma-separated words: only the screens whose name has one"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="roles shot at the same time (default 2)"
    )
    parser.add_argument(
        "--out", default=str(ROOT / ".dev" / "screenshots"), help="output folder"
    )
    parser.add_argument("--chromium", help="the Chromium binary")
    return parser.parse_args()


def main():
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    chromium = find_chromium(args.chromium)
    roles = ROLES
    if args.roles:
        wanted = args.roles.split(",")
        unknown = set(wanted) - {role.key for role in ROLES}
        if unknown:
            raise SystemExit(f"unknown roles: {', '.join(sorted(unknown))}")
        roles = [role for role in ROLES if role.key in wanted]
    words = args.only.split(",") if args.only else None

    started = time.monotonic()
    server, db, runs = None, args.db, []
    if args.url:
        url = args.url.rstrip("/")
    else:
        db = db or "crm_extended"
        check_local_database(db)
        print(f"serving {db} for the run (log: {out / 'odoo.log'})")
        server = Server(db, out / "odoo.log")
        url = server.url
    # A kill stops what the run started, as Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        db = check_database(url, db)
        extended_actions, zones = read_setup(url, db, [role.login for role in roles])
        runs = [
            RoleRun(role, url, db, out, words, zones.get(role.login)) for role in roles
        ]
        with ThreadPoolExecutor(args.jobs) as pool:
            for run in runs:
                pool.submit(run.execute, chromium, extended_actions)
    finally:
        for run in runs:
            run.close()
        if server:
            server.stop()
        write_index(out, runs)
    failures = [failure for run in runs for failure in run.failures]
    print(
        f"{sum(len(run.shots) for run in runs)} screenshots in {out}/index.html"
        f" in {time.monotonic() - started:.0f} s; {len(failures)} failed"
    )
    for failure in failures:
        print(f"  {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
