//! End-to-end test of Steward Console in the real app: the built `steward-console` driven through
//! WebDriver (tauri-driver + WebKitWebDriver) against a real `stewardd serve --demo`.
//!
//! `cargo xtask e2e` builds everything, starts Xvfb, a D-Bus session with an unlocked
//! gnome-keyring, tauri-driver and stewardd, then runs this program with `STEWARD_E2E_*`
//! variables (see [`Env`]). Each step asserts on what the window shows and saves a screenshot to
//! `tests/e2e/screenshots/NN-name.png`; a failing step saves `NN-name-FAILED.png` and ends the
//! run with a message naming the step. Expectations come from `steward-model` (the catalog and
//! the demo plant), not from copies of them.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use steward_model::demo::ids;
use steward_model::{
    AssetAction, AssetRole, Grantee, OrgRole, Permission, Plant, Principal, Reason, Resource,
};

/// How long one DOM condition may take to hold (a sync against the demo plant included).
const WAIT: Duration = Duration::from_secs(30);
/// How long tauri-driver may take to start the console and open a session.
const SESSION_WAIT: Duration = Duration::from_secs(60);
/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(150);

/// Script run before each screenshot: repaints one corner pixel for two seconds.
const REPAINT: &str = "const d = document.createElement('div');\
    d.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;z-index:2147483647';\
    document.body.appendChild(d);\
    let n = 0;\
    const t = setInterval(() => {\
      d.style.background = n++ % 2 ? 'rgba(0,0,0,0.01)' : 'rgba(0,0,0,0.02)';\
      if (n > 40) { clearInterval(t); d.remove(); }\
    }, 50);";

/// What `cargo xtask e2e` hands over.
struct Env {
    /// tauri-driver's address, e.g. `http://127.0.0.1:4444`.
    webdriver: String,
    /// The `steward-console` binary tauri-driver launches.
    app: PathBuf,
    /// The `stewardd` binary, to start it again on the same port and data directory.
    stewardd: PathBuf,
    /// stewardd's base address (`http://127.0.0.1:PORT`, no `/api/v1`).
    api: String,
    /// The run's scratch directory: `platform/` (stewardd's data), `stewardd.pid` (the running
    /// stewardd), `stewardd.log` (its stderr, with the demo logins line).
    work: PathBuf,
    screenshots: PathBuf,
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set: run this through `cargo xtask e2e`"))
}

impl Env {
    fn read() -> Result<Env, String> {
        Ok(Env {
            webdriver: var("STEWARD_E2E_WEBDRIVER")?,
            app: PathBuf::from(var("STEWARD_E2E_APP")?),
            stewardd: PathBuf::from(var("STEWARD_E2E_STEWARDD")?),
            api: var("STEWARD_E2E_API")?,
            work: PathBuf::from(var("STEWARD_E2E_WORK")?),
            screenshots: PathBuf::from(var("STEWARD_E2E_SCREENSHOTS")?),
        })
    }
}

/// One demo login from stewardd's `{"demo": …}` line.
#[derive(Clone)]
struct Login {
    email: String,
    password: String,
}

/// The demo logins by name (stewardd prints them once, on stderr, when it seeds).
fn demo_logins(log: &Path) -> Result<BTreeMap<String, Login>, String> {
    let text = std::fs::read_to_string(log).map_err(|e| format!("reading {}: {e}", log.display()))?;
    let demo = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find_map(|v| v.get("demo").cloned())
        .ok_or("stewardd printed no demo logins line")?;
    let users = demo
        .get("users")
        .and_then(Value::as_array)
        .ok_or("the demo line has no users")?;
    let field = |u: &Value, f: &str| u.get(f).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(users
        .iter()
        .map(|u| {
            (
                field(u, "name"),
                Login {
                    email: field(u, "email"),
                    password: field(u, "password"),
                },
            )
        })
        .collect())
}

// ----- waiting on the DOM ---------------------------------------------------------------------

/// Polls `probe` until it yields a value, or fails after [`WAIT`] with what it last saw.
async fn wait_for<T, F, Fut>(what: &str, probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    wait_within(what, WAIT, probe).await
}

/// [`wait_for`] with its own limit. A probe that hangs (a WebDriver command the app never
/// answers) counts as a failed try, so the limit holds.
async fn wait_within<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let start = Instant::now();
    let mut last = String::from("nothing yet");
    loop {
        let left = limit.saturating_sub(start.elapsed()).max(POLL);
        match tokio::time::timeout(left, probe()).await {
            Ok(Ok(Some(v))) => return Ok(v),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => last = e,
            Err(_) => last = "no answer".to_owned(),
        }
        if start.elapsed() > limit {
            return Err(format!(
                "timed out after {limit:?} waiting for {what} (last seen: {last})"
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A single command that must answer within `limit`.
async fn bounded<T>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, CmdError>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r.map_err(|e| format!("{what}: {}", cmd(e))),
        Err(_) => Err(format!("{what}: no answer within {limit:?}")),
    }
}

/// A WebDriver error in words; WebKitWebDriver often leaves the message empty, so the error's
/// kind is kept too.
fn cmd(e: CmdError) -> String {
    format!("{e:?}")
}

/// The elements matching `css` now (none is not an error).
async fn all(c: &Client, css: &str) -> Result<Vec<Element>, String> {
    c.find_all(Locator::Css(css)).await.map_err(cmd)
}

/// The visible text of the first element matching `css`, if there is one.
async fn text(c: &Client, css: &str) -> Result<Option<String>, String> {
    match all(c, css).await?.first() {
        Some(el) => el.text().await.map(Some).map_err(cmd),
        None => Ok(None),
    }
}

/// Waits until an element matching `css` shows text containing every one of `parts` (ignoring
/// case); returns the text.
async fn wait_text(c: &Client, css: &str, parts: &[&str]) -> Result<String, String> {
    let what = format!("{css} to show {parts:?}");
    wait_for(&what, || async {
        let shown = text(c, css).await?;
        match shown {
            // Case aside: CSS capitalises role names and state tags in what shows.
            Some(t) if parts.iter().all(|p| t.to_lowercase().contains(&p.to_lowercase())) => Ok(Some(t)),
            Some(t) => Err(format!("{t:?}")),
            None => Err("no such element".to_owned()),
        }
    })
    .await
}

/// `wait_text` on the DOM's text (`textContent`) rather than WebDriver's visible text, which
/// leaves out the cells of the virtualized device table (sticky, or clipped with an ellipsis)
/// although the window shows them.
async fn wait_content(c: &Client, css: &str, parts: &[&str]) -> Result<String, String> {
    let what = format!("{css} to hold {parts:?}");
    wait_for(&what, || async {
        let got = bounded(
            &format!("reading {css}"),
            WAIT,
            c.execute(
                "const el = document.querySelector(arguments[0]); return el ? el.textContent : null;",
                vec![json!(css)],
            ),
        )
        .await?;
        match got.as_str() {
            Some(t) if parts.iter().all(|p| t.to_lowercase().contains(&p.to_lowercase())) => {
                Ok(Some(t.to_owned()))
            }
            Some(t) => Err(format!("{t:?}")),
            None => Err("no such element".to_owned()),
        }
    })
    .await
}

/// Waits for an element matching `css` that is displayed and enabled.
async fn wait_ready(c: &Client, css: &str) -> Result<Element, String> {
    wait_for(&format!("{css} to be shown and enabled"), || async {
        for el in all(c, css).await? {
            if el.is_displayed().await.map_err(cmd)? && el.is_enabled().await.map_err(cmd)? {
                return Ok(Some(el));
            }
        }
        Ok(None)
    })
    .await
}

async fn click(c: &Client, css: &str) -> Result<(), String> {
    let el = wait_ready(c, css).await?;
    bounded(&format!("clicking {css}"), WAIT, el.click()).await
}

/// Opens a view by clicking its tab, and checks the tab took it.
async fn open_tab(c: &Client, id: &str) -> Result<(), String> {
    let css = format!("[data-testid=tab-{id}]");
    click(c, &css).await?;
    wait_for(&format!("the {id} tab to be selected"), || async {
        let el = wait_ready(c, &css).await?;
        Ok((el.attr("aria-selected").await.map_err(cmd)?.as_deref() == Some("true")).then_some(()))
    })
    .await
}

/// Waits until nothing matches `css`.
async fn wait_gone(c: &Client, css: &str) -> Result<(), String> {
    wait_for(&format!("{css} to go away"), || async {
        Ok(all(c, css).await?.is_empty().then_some(()))
    })
    .await
}

/// Picks the option of a `<select>` whose label starts with `label` (the first such option, as
/// typing does). Returns the option's value.
async fn choose(c: &Client, select: &str, label: &str) -> Result<String, String> {
    let option = wait_for(&format!("an option {label:?} in {select}"), || async {
        for option in all(c, &format!("{select} option")).await? {
            if option.text().await.map_err(cmd)?.trim().starts_with(label) {
                return Ok(Some(option));
            }
        }
        Ok(None)
    })
    .await?;
    let value = option.attr("value").await.map_err(cmd)?.unwrap_or_default();
    // Typed, as with the keyboard: clicking an <option> leaves WebKitGTK's native list popped
    // up, and it holds back the next screenshot.
    let field = wait_ready(c, select).await?;
    bounded(
        &format!("choosing {label:?} in {select}"),
        WAIT,
        field.send_keys(label),
    )
    .await?;
    wait_for(&format!("{select} to hold {label:?}"), || async {
        let now = wait_ready(c, select).await?.prop("value").await.map_err(cmd)?;
        Ok((now.as_deref() == Some(value.as_str())).then_some(()))
    })
    .await?;
    Ok(value)
}

// ----- the platform over REST -------------------------------------------------------------------

/// The platform as the owner sees it over REST: to grant, to change a role behind the console's
/// back, and to check what reached it.
struct Rest {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Rest {
    async fn sign_in(base: &str, login: &Login) -> Result<Rest, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| e.to_string())?;
        let base = format!("{base}/api/v1");
        let body = json!({"email": login.email, "password": login.password});
        let reply = http.post(format!("{base}/session")).json(&body).send().await;
        let session: Value = Self::read("POST /session", reply).await?;
        let token = session
            .get("token")
            .and_then(Value::as_str)
            .ok_or("POST /session gave no token")?;
        Ok(Rest {
            http,
            base,
            token: token.to_owned(),
        })
    }

    async fn read(what: &str, reply: reqwest::Result<reqwest::Response>) -> Result<Value, String> {
        let reply = reply.map_err(|e| format!("{what}: {e}"))?;
        let status = reply.status();
        let body: Value = reply.json().await.map_err(|e| format!("{what}: {e}"))?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{what}: {status}: {body}"))
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let what = format!("{method} {path}");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::read(&what, req.send().await).await
    }

    /// The id of the row of `list` named `name`.
    async fn id_named(&self, list: &str, name: &str) -> Result<i64, String> {
        let rows = self.call(reqwest::Method::GET, list, None).await?;
        rows.as_array()
            .into_iter()
            .flatten()
            .find(|r| r.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|r| r.get("id").and_then(Value::as_i64))
            .ok_or_else(|| format!("GET {list} has no {name:?}"))
    }

    async fn role_of(&self, user: i64) -> Result<String, String> {
        let row = self
            .call(reqwest::Method::GET, &format!("/users/{user}"), None)
            .await?;
        row.get("role")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("GET /users/{user} has no role: {row}"))
    }
}

// ----- stewardd ---------------------------------------------------------------------------------

async fn run_quiet(program: &str, args: &[&str]) -> Result<bool, String> {
    let status = tokio::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| format!("could not run {program}: {e}"))?;
    Ok(status.success())
}

/// Stops the stewardd whose pid is in `stewardd.pid` and waits until it is gone.
async fn stop_stewardd(env: &Env) -> Result<(), String> {
    let pid_file = env.work.join("stewardd.pid");
    let pid =
        std::fs::read_to_string(&pid_file).map_err(|e| format!("reading {}: {e}", pid_file.display()))?;
    let pid = pid.trim().to_owned();
    run_quiet("kill", &["-TERM", &pid]).await?;
    // Its parent reaps it only at the end of the run, so wait for its port to close rather
    // than for the pid to go.
    let addr = env.api.trim_start_matches("http://").to_owned();
    wait_for("stewardd to stop listening", || async {
        Ok(tokio::net::TcpStream::connect(&addr).await.is_err().then_some(()))
    })
    .await
}

/// Starts stewardd again on the same address and data directory (no `--demo`: the plant is
/// there already), records its pid for the xtask's teardown, and waits for its ready line.
async fn restart_stewardd(env: &Env) -> Result<tokio::process::Child, String> {
    let listen = env.api.trim_start_matches("http://").to_owned();
    let out = env.work.join("stewardd2.out");
    let log = std::fs::File::create(env.work.join("stewardd2.log")).map_err(|e| e.to_string())?;
    let child = tokio::process::Command::new(&env.stewardd)
        .arg("serve")
        .arg("--data-dir")
        .arg(env.work.join("platform"))
        .args(["--listen", &listen])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", env.stewardd.display()))?;
    if let Some(pid) = child.id() {
        std::fs::write(env.work.join("stewardd.pid"), pid.to_string()).map_err(|e| e.to_string())?;
    }
    wait_for("stewardd's ready line after the restart", || async {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        Ok(text.lines().any(|l| l.starts_with("{\"api\"")).then_some(()))
    })
    .await?;
    Ok(child)
}

// ----- the test ---------------------------------------------------------------------------------

struct Run {
    env: Env,
    plant: Plant,
    logins: BTreeMap<String, Login>,
    client: Option<Client>,
}

impl Run {
    fn client(&self) -> Result<&Client, String> {
        self.client
            .as_ref()
            .ok_or_else(|| "no WebDriver session".to_owned())
    }

    /// A new WebDriver session: tauri-driver starts the console.
    async fn open_app(&mut self) -> Result<(), String> {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("wry"));
        caps.insert("tauri:options".into(), json!({"application": self.env.app}));
        let builder = {
            let mut b = ClientBuilder::new(HttpConnector::new());
            b.capabilities(caps);
            b
        };
        // tauri-driver may still be binding its port, and the previous console may still be
        // closing (it is single-instance): retry for a while.
        let client = wait_within("a WebDriver session with the console", SESSION_WAIT, || async {
            match builder.connect(&self.env.webdriver).await {
                Ok(c) => Ok(Some(c)),
                Err(e) => Err(e.to_string()),
            }
        })
        .await?;
        // Wide enough for the whole tab bar: when it overflows (`overflow-x: auto`), WebKitGTK's
        // hit test gives clicks on its tabs to the bar itself, so they would not switch views.
        bounded("sizing the window", WAIT, client.set_window_size(1600, 1000)).await?;
        self.client = Some(client);
        Ok(())
    }

    async fn close_app(&mut self) -> Result<(), String> {
        if let Some(c) = self.client.take() {
            bounded("ending the WebDriver session", WAIT, c.close()).await?;
        }
        Ok(())
    }

    async fn shot(&self, name: &str) -> Result<(), String> {
        let c = self.client()?;
        // WebKitWebDriver takes its screenshot at the page's next rendering update, and a page
        // that has settled (and runs without compositing under Xvfb) never has one: the command
        // would hang. A one-pixel, near-transparent mark in the corner changes for a moment so
        // that an update comes.
        bounded("preparing a screenshot", WAIT, c.execute(REPAINT, vec![])).await?;
        let png = bounded("taking a screenshot", WAIT, c.screenshot()).await?;
        let path = self.env.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("    screenshot: {}", path.display());
        Ok(())
    }

    fn login(&self, name: &str) -> Result<&Login, String> {
        self.logins
            .get(name)
            .ok_or_else(|| format!("no demo login for {name}"))
    }

    fn user_name(&self, id: steward_model::UserId) -> Result<String, String> {
        self.plant
            .user(id)
            .map(|u| u.name.clone())
            .ok_or_else(|| format!("the demo plant has no user {id:?}"))
    }

    fn asset_name(&self, id: steward_model::AssetId) -> Result<String, String> {
        self.plant
            .asset(id)
            .map(|a| a.name.clone())
            .ok_or_else(|| format!("the demo plant has no asset {id:?}"))
    }
}

/// Runs one step: on success saves `NN-name.png`; on failure saves `NN-name-FAILED.png` and
/// names the step in the error.
macro_rules! step {
    ($run:expr, $name:literal, $body:expr) => {{
        eprintln!("step {}", $name);
        let started = Instant::now();
        match $body.await {
            Ok(()) => {
                $run.shot($name)
                    .await
                    .map_err(|e| format!("step {}: screenshot: {e}", $name))?;
                eprintln!("    ok ({:.1} s)", started.elapsed().as_secs_f64());
            }
            Err(e) => {
                if let Err(shot) = $run.shot(concat!($name, "-FAILED")).await {
                    eprintln!("    (no screenshot of the failure: {shot})");
                }
                return Err(format!("step {} failed: {e}", $name));
            }
        }
    }};
}

async fn sign_in(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    // The form is prefilled from STEWARD_PLATFORM_URL / _DEMO_EMAIL / _DEMO_PASSWORD.
    wait_text(c, "#online-title", &["Sign in"]).await?;
    click(c, "[data-testid=sign-in]").await?;
    let owner = run.user_name(ids::OWNER)?;
    wait_text(c, ".topbar .user", &[&owner]).await?;
    wait_text(c, "[data-testid=data-age]", &["as of", "online"]).await?;
    Ok(())
}

async fn role_matrix(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    wait_text(c, "#roles-title", &["Org role matrix"]).await?;
    wait_ready(c, "[data-testid^=role-cell-]").await?;
    // Every cell at once: what it shows, and its text for screen readers.
    let cells = c
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid^=\"role-cell-\"]'))\
             .map(td => [td.dataset.testid, td.innerText.trim(), td.textContent.trim()]);",
            vec![],
        )
        .await
        .map_err(cmd)?;
    let shown: BTreeMap<String, (String, String)> = cells
        .as_array()
        .into_iter()
        .flatten()
        .map(|cell| {
            let part = |i: usize| cell.get(i).and_then(Value::as_str).unwrap_or_default().to_owned();
            (part(0), (part(1), part(2)))
        })
        .collect();
    let mut wrong = Vec::new();
    for role in OrgRole::ALL {
        for perm in Permission::ALL {
            let id = format!("role-cell-{}-{}", role.name(), perm.name());
            let held = role.permissions().contains(*perm);
            match shown.get(&id) {
                None => wrong.push(format!("{id}: missing")),
                // innerText keeps the screen-reader text of an empty cell; the mark is what shows.
                Some((visible, _)) if held && visible != "✓" => {
                    wrong.push(format!("{id}: shows {visible:?}"))
                }
                Some((visible, hidden))
                    if !held
                        && (visible.contains('✓') || *hidden != format!("{role} lacks {}", perm.name())) =>
                {
                    wrong.push(format!("{id}: shows {visible:?} / {hidden:?}"))
                }
                Some(_) => {}
            }
        }
    }
    if shown.len() != OrgRole::ALL.len() * Permission::ALL.len() {
        wrong.push(format!(
            "{} cells, expected {}",
            shown.len(),
            OrgRole::ALL.len() * Permission::ALL.len()
        ));
    }
    if !wrong.is_empty() {
        let first: Vec<_> = wrong.iter().take(8).collect();
        return Err(format!(
            "the role matrix differs from the catalog in {} cells: {first:?}",
            wrong.len()
        ));
    }
    // Cells that tell the roles apart, one by one: for each role, the first permission it adds
    // over the role below (held there, lacking below), and the column totals.
    for pair in OrgRole::ALL.windows(2) {
        let [lower, higher] = pair else { continue };
        let adds = Permission::ALL
            .iter()
            .find(|p| higher.permissions().contains(**p) && !lower.permissions().contains(**p))
            .ok_or_else(|| format!("{higher} adds nothing over {lower}"))?;
        let has = format!("[data-testid='role-cell-{}-{}']", higher.name(), adds.name());
        wait_text(c, &has, &["✓"]).await?;
        let lacks = format!(
            "[data-testid='role-cell-{}-{}'] .sr-only",
            lower.name(),
            adds.name()
        );
        let el = wait_for(&lacks, || async { Ok(all(c, &lacks).await?.into_iter().next()) }).await?;
        let said = el.prop("textContent").await.map_err(cmd)?.unwrap_or_default();
        let want = format!("{} lacks {}", lower.name(), adds.name());
        if said != want {
            return Err(format!("{lacks} says {said:?}, expected {want:?}"));
        }
        eprintln!("    {higher} has {adds}, {lower} lacks it");
    }
    let heads = c
        .execute(
            "return Array.from(document.querySelectorAll('th.role-col')).map(th => th.innerText);",
            vec![],
        )
        .await
        .map_err(cmd)?;
    for role in OrgRole::ALL {
        let want = format!("{} allowed", role.permissions().len());
        let found = heads
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|h| {
                h.split_whitespace().next().map(str::to_lowercase).as_deref() == Some(role.name())
                    && h.contains(&want)
            });
        if !found {
            return Err(format!("no role column reads {role} · {want}: {heads}"));
        }
    }
    Ok(())
}

/// The width of one permission's column in the effective matrix (CELL_WIDTH in the view).
const MATRIX_CELL_PX: u32 = 30;

async fn effective_matrix(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    open_tab(c, "effective").await?;
    let count = run.plant.users().count();
    wait_text(c, "#effective-title", &["Effective access"]).await?;
    wait_text(c, ".toolbar", &[&format!("{count} people")]).await?;
    // A user of each org role, checked cell by cell against what the catalog gives the role.
    let mut checked = BTreeSet::new();
    for (id, user) in run.plant.users() {
        if !checked.insert(user.org_role) {
            continue;
        }
        let row = format!("[data-testid='effective-row-{}']", user.name);
        // The person cell is sticky; WebKitWebDriver's visible text leaves its name out, so the
        // cell's DOM text is read (name and role tag).
        let person = format!("{row} .person-cell");
        wait_for(
            &format!("{person} to read {} {}", user.name, user.org_role),
            || async {
                let Some(el) = all(c, &person).await?.into_iter().next() else {
                    return Err("no such row".to_owned());
                };
                let said = el.prop("textContent").await.map_err(cmd)?.unwrap_or_default();
                let want = format!("{}{}", user.name, user.org_role.name());
                if said == want {
                    Ok(Some(()))
                } else {
                    Err(format!("{said:?}"))
                }
            },
        )
        .await?;
        // The marks are drawn on a canvas: read what it shows, pixel by pixel, at the centre of
        // each permission's column (headers in order), where an allowed mark is a green square.
        let held = c
            .execute(
                r#"const canvas = document.querySelector(arguments[0] + ' canvas.marks');
                   const names = Array.from(document.querySelectorAll('.grid-row.actions .vhead')).map(h => h.textContent);
                   const ctx = canvas.getContext('2d');
                   const ratio = canvas.width / (names.length * arguments[1]);
                   const y = Math.floor(canvas.height / 2);
                   return names.filter((name, i) => {
                     const [r, g, , a] = ctx.getImageData(Math.floor((i + 0.5) * arguments[1] * ratio), y, 1, 1).data;
                     return a > 200 && g > r + 40;
                   });"#,
                vec![json!(row), json!(MATRIX_CELL_PX)],
            )
            .await
            .map_err(cmd)?;
        let shown: BTreeSet<String> = held
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let want: BTreeSet<String> = user
            .org_role
            .permissions()
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        if shown != want {
            let extra: Vec<_> = shown.difference(&want).collect();
            let missing: Vec<_> = want.difference(&shown).collect();
            return Err(format!(
                "{} ({}, user {}) shows extra {extra:?} and lacks {missing:?}",
                user.name, user.org_role, id.0
            ));
        }
        eprintln!(
            "    {} ({}): {} permissions, as the catalog says",
            user.name,
            user.org_role,
            want.len()
        );
    }
    if checked.len() != OrgRole::ALL.len() {
        return Err(format!("the demo plant covers only the roles {checked:?}"));
    }
    Ok(())
}

/// Asks "may Henrik run the Shift Handover workforce?" in the explainer.
async fn ask_workforce(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    let henrik = run.user_name(ids::COORDINATORS[1])?;
    let workforce = run.asset_name(ids::HANDOVER_WORKFORCE)?;
    open_tab(c, "explain").await?;
    wait_text(c, "#explain-title", &["Why / why not"]).await?;
    choose(c, "[data-testid=explain-person]", &henrik).await?;
    choose(c, "[data-testid=explain-action]", AssetAction::Run.name()).await?;
    choose(
        c,
        "[data-testid=explain-target]",
        &format!("{workforce} (workforce)"),
    )
    .await?;
    click(c, "[data-testid=explain-submit]").await
}

/// The agents of the workforce Henrik may not run, as the model decides on `plant`.
fn missing_agents(run: &Run, plant: &Plant) -> Result<Vec<String>, String> {
    let decision = plant.decide(
        Principal::User(ids::COORDINATORS[1]),
        AssetAction::Run,
        Resource::Asset(ids::HANDOVER_WORKFORCE),
    );
    decision
        .reasons
        .iter()
        .filter_map(|r| match r {
            Reason::CannotRunAgent { agent, .. } => Some(run.asset_name(*agent)),
            _ => None,
        })
        .collect()
}

async fn explainer_denied(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    let missing = missing_agents(run, &run.plant)?;
    if missing.is_empty() {
        return Err("the demo plant lets Henrik run the workforce: scenario 4 needs a missing agent".into());
    }
    ask_workforce(run).await?;
    let henrik = run.user_name(ids::COORDINATORS[1])?;
    let mut parts = vec!["Denied", henrik.as_str(), "may not"];
    parts.extend(missing.iter().map(String::as_str));
    wait_text(c, "[data-testid=verdict]", &parts).await?;
    for agent in &missing {
        wait_text(
            c,
            "[data-testid=verdict] .missing-agent",
            &[&format!("cannot run agent {agent}")],
        )
        .await?;
    }
    eprintln!("    denied, naming {missing:?}");
    Ok(())
}

/// Scenario 4's fix through the console's share dialog: Henrik becomes member on the agent he
/// lacked; the explainer then allows the run.
async fn grant_flips_it(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    let henrik = run.user_name(ids::COORDINATORS[1])?;
    let thermal = run.asset_name(ids::THERMAL_AGENT)?;
    let workforce = run.asset_name(ids::HANDOVER_WORKFORCE)?;
    // The model agrees that this one grant is what is missing.
    let mut after = run.plant.clone();
    after
        .set_asset_role(
            Grantee::User(ids::COORDINATORS[1]),
            ids::THERMAL_AGENT,
            Some(AssetRole::Member),
        )
        .map_err(|e| e.to_string())?;
    let still = missing_agents(run, &after)?;
    if !still.is_empty() {
        return Err(format!("after the grant the model still misses {still:?}"));
    }
    open_tab(c, "assets").await?;
    // stewardd seeds the demo with the model's ids (it checks each one as it seeds).
    click(c, &format!("[data-testid=share-{}]", ids::THERMAL_AGENT.0)).await?;
    wait_text(c, "#dialog-title", &[&format!("Share agent {thermal}")]).await?;
    choose(c, "[data-testid=share-grantee]", &henrik).await?;
    choose(c, "[data-testid=share-role]", AssetRole::Member.name()).await?;
    wait_text(
        c,
        "dialog .preview",
        &["Before saving", &henrik, "gains", &workforce],
    )
    .await?;
    run.shot("05-share-preview").await?;
    wait_text(c, "[data-testid=share-save]", &["Save grant"]).await?;
    click(c, "[data-testid=share-save]").await?;
    wait_text(
        c,
        "dialog [role=status]",
        &["Saved", &henrik, AssetRole::Member.name(), &thermal],
    )
    .await?;
    click(c, "dialog .dialog-footer button.primary").await?;
    wait_gone(c, "dialog[open]").await?;
    ask_workforce(run).await?;
    wait_text(c, "[data-testid=verdict]", &["Allowed", &henrik, "may"]).await?;
    Ok(())
}

// ----- devices and live presence ------------------------------------------------------------

const DEVICE_GROUP: &str = "Boiler room";
const DEVICES: [&str; 2] = ["Boiler pump B-1", "Boiler pump B-2"];

/// A device's MQTT connection to stewardd's broker (the address the platform hands out with
/// `POST /session/broker`), announcing itself online (retained), as devices do.
async fn device_online(owner: &Rest, created: &Value) -> Result<rumqttc::AsyncClient, String> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let broker = owner.call(reqwest::Method::POST, "/session/broker", None).await?;
    let url = broker.get("url").and_then(Value::as_str).unwrap_or_default();
    let (host, port) = url
        .strip_prefix("mqtt://")
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("POST /session/broker gave no mqtt:// address: {url:?}"))?;
    let field = |path: &[&str]| {
        path.iter()
            .try_fold(created, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("POST /devices gave no {}", path.join(".")))
    };
    let username = field(&["credentials", "mqtt_username"])?;
    let password = field(&["credentials", "mqtt_password"])?;
    let device = created
        .pointer("/device/id")
        .and_then(Value::as_i64)
        .ok_or("POST /devices gave no device id")?;
    let org = owner
        .call(reqwest::Method::GET, "/session", None)
        .await?
        .get("org")
        .and_then(Value::as_i64)
        .ok_or("GET /session gave no org")?;
    let mut options = MqttOptions::new(username.clone(), host, port);
    options.set_credentials(username, password);
    options.set_keep_alive(Duration::from_secs(30));
    let (client, mut eventloop) = AsyncClient::new(options, 16);
    let connected = tokio::time::timeout(WAIT, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(format!("the device could not connect: {e}")),
            }
        }
    })
    .await;
    connected.map_err(|_| "the device got no CONNACK".to_owned())??;
    // Keep the connection serviced for the rest of the run.
    tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
    client
        .publish(
            format!("steward/{org}/devices/{device}/presence"),
            QoS::AtLeastOnce,
            true,
            "online",
        )
        .await
        .map_err(|e| format!("publishing online: {e}"))?;
    Ok(client)
}

/// Two devices registered on the platform show in the Devices tab after a sync, presence goes
/// live over the console's own broker credential, and one device coming online shows at once
/// with its group's roll-up.
async fn devices_live(run: &Run, owner: &Rest) -> Result<rumqttc::AsyncClient, String> {
    let c = run.client()?;
    let group = owner
        .call(
            reqwest::Method::POST,
            "/logical-groups",
            Some(json!({"name": DEVICE_GROUP})),
        )
        .await?;
    let group = group.get("id").and_then(Value::as_i64).ok_or("no group id")?;
    let mut created = Vec::new();
    for name in DEVICES {
        let body = json!({"name": name, "kind": "pump", "groups": [group]});
        created.push(owner.call(reqwest::Method::POST, "/devices", Some(body)).await?);
    }
    open_tab(c, "devices").await?;
    click(c, "[data-testid=sync-now]").await?;
    wait_text(c, "[data-testid=devices-count]", &["2 of 2 devices"]).await?;
    wait_text(c, "[data-testid=live-state]", &["Live presence"]).await?;
    wait_text(
        c,
        &format!("[data-testid=rollup-logical-{group}]"),
        &[DEVICE_GROUP, "0 online / 2"],
    )
    .await?;
    let first = created.first().ok_or("no device created")?;
    let device = device_online(owner, first).await?;
    let row = format!("[data-testid=\"device-row-{}\"]", DEVICES[0]);
    wait_content(c, &row, &[DEVICES[0], "pump", DEVICE_GROUP, "online", "just now"]).await?;
    let other = format!("[data-testid=\"device-row-{}\"]", DEVICES[1]);
    wait_content(c, &other, &[DEVICES[1], "never seen", "never"]).await?;
    wait_text(
        c,
        &format!("[data-testid=rollup-logical-{group}]"),
        &["1 online / 2"],
    )
    .await?;
    wait_text(c, "[data-testid=devices-total]", &["1 online / 2"]).await?;
    Ok(device)
}

// ----- alerts -----------------------------------------------------------------------------------

const ALERT_RULE: &str = "Boiler room too hot";

/// The Alerts tab online: the demo's two rules in words, then a rule made through the "New
/// rule…" dialog (a threshold on the devices step's logical group) is listed.
async fn alerts_live(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    open_tab(c, "alerts").await?;
    wait_text(c, "#alerts-title", &["Alerts"]).await?;
    wait_text(c, "[data-testid=alerts-source]", &["Rules from the platform"]).await?;
    wait_content(
        c,
        "[data-testid=\"alert-rule-Overheating\"]",
        &[
            "Overheating",
            "temp above 79.9",
            "All devices",
            "enabled",
            "none open",
        ],
    )
    .await?;
    wait_content(
        c,
        "[data-testid=\"alert-rule-Offline for two minutes\"]",
        &["offline for more than 2 min", "All devices"],
    )
    .await?;
    wait_text(c, "[data-testid=alerts-count]", &["2 rules"]).await?;
    wait_text(c, "[data-testid=history-count]", &["0 shown"]).await?;

    click(c, "[data-testid=new-alert-rule]").await?;
    wait_text(c, "#dialog-title", &["New alert rule"]).await?;
    let typed = [
        ("[data-testid=alert-rule-name]", ALERT_RULE),
        ("[data-testid=alert-rule-field]", "boiler.temp"),
        ("[data-testid=alert-rule-threshold]", "95"),
    ];
    for (css, value) in typed {
        let field = wait_ready(c, css).await?;
        bounded(&format!("typing into {css}"), WAIT, field.send_keys(value)).await?;
    }
    choose(c, "[data-testid=alert-rule-target]", DEVICE_GROUP).await?;
    run.shot("06c-alerts-new-rule").await?;
    click(c, "[data-testid=save-alert-rule]").await?;
    wait_gone(c, "dialog[open]").await?;
    wait_content(
        c,
        &format!("[data-testid=\"alert-rule-{ALERT_RULE}\"]"),
        &[
            ALERT_RULE,
            "boiler.temp above 95",
            &format!("Group {DEVICE_GROUP}"),
            "enabled",
        ],
    )
    .await?;
    wait_text(c, "[data-testid=alerts-count]", &["3 rules"]).await?;
    Ok(())
}

/// The device's telemetry topic and a reading of `boiler.temp` published on it.
async fn publish_boiler_temp(
    device: &rumqttc::AsyncClient,
    org: i64,
    id: i64,
    temp: f64,
) -> Result<(), String> {
    let reading = json!({"boiler": {"temp": temp}}).to_string();
    device
        .publish(
            format!("steward/{org}/devices/{id}/telemetry"),
            rumqttc::QoS::AtLeastOnce,
            false,
            reading,
        )
        .await
        .map_err(|e| format!("publishing telemetry: {e}"))
}

/// With the Alerts tab open, the devices step's device reports a boiler temperature over the
/// new rule's threshold: the fired alert arrives live (over the console's own broker
/// credential) at the top of the history, and the rule's open count moves, without Refresh.
/// Then, with another tab open, a second episode (the reading back under, then over again)
/// shows as a count on the Alerts tab, which opening the tab clears.
async fn alerts_arrive_live(
    run: &Run,
    owner: &Login,
    device: Option<&rumqttc::AsyncClient>,
) -> Result<(), String> {
    let c = run.client()?;
    let device = device.ok_or("the devices step left no connected device")?;
    let rest = Rest::sign_in(&run.env.api, owner).await?;
    let id = rest.id_named("/devices", DEVICES[0]).await?;
    let org = rest
        .call(reqwest::Method::GET, "/session", None)
        .await?
        .get("org")
        .and_then(Value::as_i64)
        .ok_or("GET /session gave no org")?;
    let rule_row = format!("[data-testid=\"alert-rule-{ALERT_RULE}\"]");
    let newest = ".alerts-history-list tbody tr:first-child";
    wait_text(c, "#alerts-title", &["Alerts"]).await?;
    wait_text(c, "[data-testid=alerts-live]", &["Live alerts"]).await?;
    wait_content(c, &rule_row, &[ALERT_RULE, "none open"]).await?;

    publish_boiler_temp(device, org, id, 97.5).await?;
    wait_content(
        c,
        newest,
        &[DEVICES[0], ALERT_RULE, "boiler.temp = 97.5", "open", "just now"],
    )
    .await?;
    wait_text(c, "[data-testid=history-count]", &["1 shown"]).await?;
    wait_content(c, &rule_row, &[ALERT_RULE, "1 open"]).await?;
    run.shot("06d-alerts-arrived-live").await?;

    // Elsewhere in the console: the tab counts what fired since it was last looked at.
    open_tab(c, "devices").await?;
    wait_text(c, "[data-testid=devices-count]", &["2 of 2 devices"]).await?;
    publish_boiler_temp(device, org, id, 90.0).await?;
    // The reading back under the threshold clears the first alert before the next fires.
    wait_for("the first alert to clear", || async {
        let rows = rest.call(reqwest::Method::GET, "/alerts?limit=5", None).await?;
        let cleared = rows
            .as_array()
            .and_then(|r| r.first())
            .is_some_and(|a| a.get("cleared_at").is_some_and(|c| !c.is_null()));
        Ok::<_, String>(cleared.then_some(()))
    })
    .await?;
    publish_boiler_temp(device, org, id, 98.0).await?;
    wait_text(c, "[data-testid=alerts-unseen]", &["1"]).await?;
    run.shot("06d-alerts-tab-badge").await?;
    open_tab(c, "alerts").await?;
    wait_gone(c, "[data-testid=alerts-unseen]").await?;
    wait_content(c, newest, &[DEVICES[0], ALERT_RULE, "boiler.temp = 98", "open"]).await?;
    wait_text(c, "[data-testid=history-count]", &["2 shown"]).await?;
    wait_content(c, &rule_row, &[ALERT_RULE, "1 open"]).await?;
    Ok(())
}

/// Opened offline, the Devices tab shows the last known state and says presence is not live.
async fn devices_offline(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    open_tab(c, "devices").await?;
    wait_text(c, "[data-testid=devices-count]", &["2 of 2 devices"]).await?;
    wait_text(
        c,
        "[data-testid=live-state]",
        &["Presence as of", "not live", "the platform cannot be reached"],
    )
    .await?;
    let row = format!("[data-testid=\"device-row-{}\"]", DEVICES[0]);
    wait_content(c, &row, &[DEVICES[0], "online"]).await?;
    Ok(())
}

async fn offline_open(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    let owner = run.login(&run.user_name(ids::OWNER)?)?;
    wait_text(c, "#offline-title", &["Open offline"]).await?;
    let field = wait_ready(c, "[data-testid=offline-password]").await?;
    field.send_keys(&owner.password).await.map_err(cmd)?;
    click(c, "[data-testid=open-offline]").await?;
    wait_text(c, "[data-testid=data-age]", &["as of", "offline"]).await?;
    // The matrices are there as of the last sync.
    wait_text(c, "#roles-title", &["Org role matrix"]).await?;
    wait_ready(c, "[data-testid^=role-cell-]").await?;
    wait_text(c, ".age-note", &["Data as of", "offline"]).await?;
    // The first attempt to reach the platform fails; the top bar says so (no banner).
    wait_text(c, "[data-testid=unreachable]", &["Cannot reach the platform"]).await?;
    Ok(())
}

/// Changes `name`'s org role in People, offline: the preview first, then it is queued.
async fn queue_role_change(run: &Run, name: &str, role: OrgRole, shot: &str) -> Result<(), String> {
    let c = run.client()?;
    open_tab(c, "people").await?;
    let row = format!("[data-testid='person-row-{name}']");
    wait_text(c, &row, &[name]).await?;
    click(c, &format!("{row} [data-testid=change-role]")).await?;
    wait_text(c, "#dialog-title", &[&format!("Change the org role of {name}")]).await?;
    click(c, &format!("dialog input[name=role][value={}]", role.name())).await?;
    wait_text(c, "[data-testid=role-preview]", &["Before saving", name]).await?;
    wait_text(c, "[data-testid=save-role]", &["Queue change"]).await?;
    run.shot(shot).await?;
    click(c, "[data-testid=save-role]").await?;
    wait_text(c, "[data-testid=role-change-outcome]", &["Queued"]).await?;
    Ok(())
}

async fn close_dialog(run: &Run) -> Result<(), String> {
    let c = run.client()?;
    click(c, "[data-testid=close-role-dialog]").await?;
    wait_gone(c, "dialog[open]").await
}

async fn queued(run: &Run, names: &[&str]) -> Result<(), String> {
    let c = run.client()?;
    wait_text(c, "[data-testid=queue]", &[&format!("{} queued", names.len())]).await?;
    open_tab(c, "changes").await?;
    wait_text(c, "#changes-title", &["Changes"]).await?;
    wait_for("every queued change in Changes", || async {
        let items = all(c, "[data-testid=outbox-item][data-state=pending]").await?;
        let mut texts = Vec::new();
        for item in &items {
            texts.push(item.text().await.map_err(cmd)?);
        }
        let all_there = names.iter().all(|n| {
            texts
                .iter()
                .any(|t| t.contains(n) && t.to_lowercase().contains("queued"))
        });
        if all_there && items.len() == names.len() {
            Ok(Some(()))
        } else {
            Err(format!("{texts:?}"))
        }
    })
    .await
}

async fn conflict_shown(run: &Run, mine: &str, theirs_role: OrgRole) -> Result<(), String> {
    let c = run.client()?;
    click(c, "[data-testid=sync-now]").await?;
    let item = "[data-testid=outbox-item][data-state=conflict]";
    wait_text(c, item, &["conflict", mine, "Mine", "Theirs", theirs_role.name()]).await?;
    wait_text(c, &format!("{item} .side.theirs"), &[theirs_role.name()]).await?;
    wait_text(c, &format!("{item} .side.mine"), &[mine]).await?;
    wait_gone(c, "[data-testid=outbox-item][data-state=pending]").await?;
    wait_text(c, "[data-testid=queue]", &["1 conflict"]).await?;
    wait_text(c, "[data-testid=data-age]", &["online"]).await?;
    Ok(())
}

async fn scenario(run: &mut Run) -> Result<(), String> {
    run.open_app().await?;
    step!(run, "01-signed-in", sign_in(run));
    step!(run, "02-role-matrix", role_matrix(run));
    step!(run, "03-effective-matrix", effective_matrix(run));
    step!(run, "04-explainer-denied", explainer_denied(run));
    step!(run, "06-explainer-allowed-after-grant", grant_flips_it(run));
    let owner_login = run.login(&run.user_name(ids::OWNER)?)?.clone();
    let device = {
        let owner = Rest::sign_in(&run.env.api, &owner_login).await?;
        let mut device = None;
        step!(run, "06b-devices-live", async {
            device = Some(devices_live(run, &owner).await?);
            Ok::<(), String>(())
        });
        device
    };
    step!(run, "06c-alerts", alerts_live(run));
    step!(
        run,
        "06d-alerts-arrive-live",
        alerts_arrive_live(run, &owner_login, device.as_ref())
    );

    // Scenario 6: the platform goes away and the console starts again.
    eprintln!("stopping stewardd and restarting the console");
    stop_stewardd(&run.env).await?;
    run.close_app().await?;
    run.open_app().await?;
    step!(run, "07-opened-offline", offline_open(run));
    step!(run, "07b-devices-offline", devices_offline(run));
    drop(device);
    let aisha = run.user_name(ids::TECHNICIANS[1])?;
    let tomas = run.user_name(ids::TECHNICIANS[0])?;
    step!(
        run,
        "09-role-change-queued",
        queue_role_change(run, &aisha, OrgRole::Member, "08-role-change-preview")
    );
    step!(run, "11-second-change-queued", async {
        close_dialog(run).await?;
        queue_role_change(run, &tomas, OrgRole::Member, "10-second-change-preview").await?;
        close_dialog(run).await
    });
    step!(run, "12-changes-pending", queued(run, &[&aisha, &tomas]));

    // The platform returns; meanwhile someone made Aisha a viewer there.
    eprintln!("restarting stewardd; the owner makes {aisha} a viewer on the platform meanwhile");
    let _stewardd = restart_stewardd(&run.env).await?;
    let owner = Rest::sign_in(&run.env.api, &owner_login).await?;
    let aisha_id = owner.id_named("/users", &aisha).await?;
    let tomas_id = owner.id_named("/users", &tomas).await?;
    let before = owner.role_of(tomas_id).await?;
    if before != OrgRole::Operator.name() {
        return Err(format!("{tomas} is {before} on the platform before the replay"));
    }
    owner
        .call(
            reqwest::Method::PATCH,
            &format!("/users/{aisha_id}"),
            Some(json!({"role": OrgRole::Viewer.name()})),
        )
        .await?;
    step!(run, "13-conflict-shown", async {
        conflict_shown(run, &aisha, OrgRole::Viewer).await?;
        // The change that did not conflict reached the platform; the other did not overwrite.
        let now = owner.role_of(tomas_id).await?;
        if now != OrgRole::Member.name() {
            return Err(format!(
                "{tomas} is {now} on the platform, expected member after the replay"
            ));
        }
        let now = owner.role_of(aisha_id).await?;
        if now != OrgRole::Viewer.name() {
            return Err(format!(
                "{aisha} is {now} on the platform: the conflict was overwritten"
            ));
        }
        eprintln!("    {tomas} is member on the platform; {aisha} stays viewer there, conflict shown");
        Ok(())
    });
    run.close_app().await
}

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    let result = async {
        let env = Env::read()?;
        std::fs::create_dir_all(&env.screenshots).map_err(|e| e.to_string())?;
        let logins = demo_logins(&env.work.join("stewardd.log"))?;
        let plant = steward_model::demo::plant().map_err(|e| e.to_string())?;
        let mut run = Run {
            env,
            plant,
            logins,
            client: None,
        };
        let outcome = scenario(&mut run).await;
        if outcome.is_err() {
            // End the session so tauri-driver closes the console; the error is what matters.
            let _ = run.close_app().await;
        }
        outcome
    }
    .await;
    match result {
        Ok(()) => {
            eprintln!(
                "e2e: every step passed in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("e2e: {e}");
            ExitCode::FAILURE
        }
    }
}
