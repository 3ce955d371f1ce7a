"""The Flasky page in a real browser: Debian's chromium, headless, driven through
chromium-driver by python3-selenium. `flasky runserver` listens on a free loopback port with a
database in a temporary folder; the test reads the page the way a visitor does.

What it proves that the HTTP-level tests cannot: Bootstrap's stylesheet really styles the
page, moment.js really runs and formats the time, the form round trip works with the
browser's own cookies, the console stays clean, and no request leaves 127.0.0.1 (the page
needs no CDN).

Run alone: FLASKY_BIN=build/bin/flasky python3 tests/e2e/test_browser.py
WORKBOOK_UPDATE_SCREENSHOT=1 also writes the screenshots to docs/images/ (docs/04 shows them);
they are always written to WORKBOOK_SCREENSHOT_DIR (ctest: the build tree).
"""
import datetime
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SKIP = 77  # ctest's SKIP_RETURN_CODE for this test


def missing_prerequisites():
    """Why the test cannot run here, or None."""
    programs = ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver"))
    missing = [f"{path} (Debian package {pkg})" for path, pkg in programs
               if not os.access(path, os.X_OK)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium module (Debian package python3-selenium)")
    return ", ".join(missing) or None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moment_lll(when):
    """What moment(...).format('LLL') shows in the en locale: 'November 30, 2026 3:26 AM'."""
    hour = when.hour % 12 or 12
    return f"{when:%B} {when.day}, {when.year} {hour}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"


class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        cls.tmp = tempfile.TemporaryDirectory()
        cls.port = free_port()
        env = dict(os.environ, FLASKY_CONFIG="development", SECRET_KEY="e2e-browser",
                   DEV_DATABASE_URI=f"sqlite:///{cls.tmp.name}/dev.sqlite",
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()))
        env.pop("FLASKY_ADMIN", None)  # no admin: no mail to send, nothing to wait for
        cls.server = subprocess.Popen(
            [os.environ["FLASKY_BIN"], "runserver", "--host", "127.0.0.1", "--port", str(cls.port)],
            env=env, cwd=cls.tmp.name, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        cls.base = f"http://127.0.0.1:{cls.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=0.5).close()
                break
            except OSError:
                if cls.server.poll() is not None or time.monotonic() > deadline:
                    cls.tearDownClass()
                    raise RuntimeError("flasky runserver did not start: "
                                       + cls.server.stderr.read())
                time.sleep(0.1)

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--window-size=1000,700", "--hide-scrollbars",
                     "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     # A test browser phones nobody: no updates, sync or field trials.
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-default-apps", "--disable-extensions", "--disable-sync",
                     "--lang=en-US", f"--user-data-dir={cls.tmp.name}/profile"):
            options.add_argument(flag)
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")  # chromium refuses to run as root otherwise
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # The browser's clock in UTC, so the test knows what moment.js must print.
        service = Service(CHROMEDRIVER, env=dict(os.environ, TZ="UTC"))
        try:
            cls.driver = webdriver.Chrome(service=service, options=options)
        except Exception:
            cls.driver = None
            cls.tearDownClass()
            raise
        cls.driver.set_page_load_timeout(20)
        # --window-size counts the window's frame; the docs' screenshots are a 1000x700 page.
        cls.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 1000, "height": 700, "deviceScaleFactor": 1, "mobile": False})

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "driver", None):
            cls.driver.quit()
        if cls.server.poll() is None:
            cls.server.terminate()
            try:
                cls.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.server.kill()
                cls.server.wait()
        cls.server.stderr.close()
        cls.tmp.cleanup()

    def wait_for(self, condition, what, timeout=10):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout).until(lambda d: condition(d), message=what)

    def heading(self):
        return self.driver.find_element("css selector", ".page-header h1").text

    def greeting(self):
        return self.driver.find_element("css selector", ".page-header p").text

    def screenshot(self, name):
        """Always into the build tree; into docs/images too when asked to (the docs show it)."""
        folder = pathlib.Path(os.environ.get("WORKBOOK_SCREENSHOT_DIR", self.tmp.name))
        folder.mkdir(parents=True, exist_ok=True)
        self.assertTrue(self.driver.save_screenshot(str(folder / name)), f"no screenshot {name}")
        if os.environ.get("WORKBOOK_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(folder / name, ROOT / "docs" / "images" / name)
            print(f"updated docs/images/{name}", file=sys.stderr)

    def submit_name(self, name):
        from selenium.webdriver.common.by import By
        field = self.driver.find_element(By.ID, "name")
        self.assertEqual(self.driver.find_element(By.CSS_SELECTOR, "label[for=name]").text,
                         "What is your name?")
        field.clear()
        field.send_keys(name)
        old = self.driver.find_element(By.TAG_NAME, "html")
        self.driver.find_element(By.ID, "submit").click()
        # Post, redirect, get: wait for the new page, not a stale look at the old one.
        self.wait_for(lambda d: old.id != d.find_element(By.TAG_NAME, "html").id,
                      "the form post never loaded a new page")
        self.wait_for(lambda d: d.execute_script("return document.readyState") == "complete",
                      "the page after the post did not finish loading")

    def test_home_page_in_a_browser(self):
        from selenium.webdriver.common.by import By
        d = self.driver
        d.get(self.base + "/")
        self.assertEqual(d.title, "Flasky")
        self.assertEqual(self.heading(), "Hello, Stranger!")

        # Bootstrap's CSS applied: .bg-dark paints the navbar #343a40, .container caps it.
        navbar = d.find_element(By.CSS_SELECTOR, "nav.navbar")
        self.assertEqual(navbar.value_of_css_property("background-color"), "rgba(52, 58, 64, 1)")
        self.assertEqual(navbar.value_of_css_property("display"), "flex")
        brand = d.find_element(By.CSS_SELECTOR, ".navbar-brand")
        self.assertEqual(brand.value_of_css_property("color"), "rgba(255, 255, 255, 1)")

        # moment.js rendered the time: the span's text is no longer the ISO string the server
        # sent but that instant formatted as 'LLL' in the browser's zone (UTC, see setUpClass).
        span = d.find_element(By.CSS_SELECTOR, "[data-timestamp]")
        iso = span.get_attribute("data-timestamp")
        self.wait_for(lambda _: span.is_displayed() and span.text != iso,
                      f"moment.js did not render the time; the page still shows {iso!r}")
        when = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
        when = when.astimezone(datetime.timezone.utc)
        self.assertEqual(span.text, moment_lll(when))
        self.assertNotIn("T", span.text.split(",")[0], "looks like an ISO date")
        self.screenshot("ch04-index.png")
        self.assert_only_local_requests()

        self.submit_name("Bob")
        self.assertEqual(self.heading(), "Hello, Bob!")
        self.assertEqual(self.greeting(), "Pleased to meet you!")
        self.assertEqual(d.find_element(By.ID, "name").get_attribute("value"), "")
        self.screenshot("ch04-index-bob.png")

        self.submit_name("Bob")
        self.assertEqual(self.heading(), "Hello, Bob!")
        self.assertEqual(self.greeting(), "Happy to see you again!")

        # The console: no errors (a 404 for a script, a CSP refusal, an exception in moment).
        # One exception: the browser asks for /favicon.ico on its own, and the book's app has
        # none (Flask's answers 404 too); any other 404 or error counts.
        errors = [e for e in d.get_log("browser") if e["level"] in ("SEVERE", "ERROR")
                  and not e["message"].startswith(f"{self.base}/favicon.ico - ")]
        self.assertEqual(errors, [], "the browser console has errors")

        self.assert_only_local_requests()

    def test_narrow_window_shows_bootstraps_icons(self):
        """At a phone's width the navbar collapses into a menu button, whose icon (like the
        mark of an invalid field) is a data: image in Bootstrap's stylesheet: the
        Content-Security-Policy must let it load, or the button is an empty box."""
        from selenium.webdriver.common.by import By
        d = self.driver
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": 400, "height": 700, "deviceScaleFactor": 1, "mobile": True})
        try:
            d.get(self.base + "/")
            d.get_log("browser")  # start from an empty console
            toggler = d.find_element(By.CSS_SELECTOR, ".navbar-toggler")
            self.assertTrue(toggler.is_displayed(), "no menu button at 400 px")
            icon = d.find_element(By.CSS_SELECTOR, ".navbar-toggler-icon")
            self.assertIn("data:image/svg+xml", icon.value_of_css_property("background-image"))
            d.find_element(By.ID, "name").send_keys(" ")  # blank: "This field is required."
            d.find_element(By.ID, "submit").click()
            self.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, ".is-invalid"),
                          "the blank name did not come back as an invalid field")
            self.wait_for(lambda d: d.execute_script("return document.readyState") == "complete",
                          "the page did not finish loading")
            # An image the policy refused shows as a console error ("violates the following
            # Content Security Policy directive").
            refused = [e["message"] for e in d.get_log("browser")
                       if "Content Security Policy" in e["message"]]
            self.assertEqual(refused, [], "the policy refused part of the page")
        finally:
            d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": 1000, "height": 700, "deviceScaleFactor": 1, "mobile": False})

    def assert_only_local_requests(self):
        """Every resource the page loaded came from the server under test: no CDN, no font.
        (The browser keeps the entries of the current page only, so this runs per page.)"""
        entries = self.driver.execute_script(
            "return performance.getEntries().map(e => [e.entryType, e.name])")
        urls = [name for kind, name in entries if kind in ("navigation", "resource")]
        self.assertTrue(any("/static/bootstrap4/" in u for u in urls), urls)
        self.assertTrue(any("/static/moment/" in u for u in urls), urls)
        for url in urls:
            self.assertEqual(urllib.parse.urlsplit(url).hostname, "127.0.0.1", url)


if __name__ == "__main__":
    why = missing_prerequisites()
    if why:
        print(f"SKIPPED: the browser test needs {why}. On Debian, ./workbook test installs them "
              "(apt-get install chromium chromium-driver python3-selenium).", file=sys.stderr)
        sys.exit(SKIP)
    try:
        socket.getaddrinfo("localhost", None)
    except OSError:
        # chromedriver and chromium reach each other (and selenium reaches chromedriver) by the
        # name "localhost"; a bare chroot or container without /etc/hosts cannot resolve it.
        print("SKIPPED: this machine cannot resolve 'localhost', which chromedriver needs; "
              "add the line '127.0.0.1 localhost' to /etc/hosts (every installed Debian has it).",
              file=sys.stderr)
        sys.exit(SKIP)
    if "FLASKY_BIN" not in os.environ:
        sys.exit("set FLASKY_BIN to build/bin/flasky (ctest does)")
    unittest.main(verbosity=2)
