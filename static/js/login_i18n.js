// Strings of the staff login page in Chinese (default) and English. Kept apart from
// i18n.js on purpose: the login page has a handful of strings and must not depend on the
// map's. Same conventions: data-i18n / data-i18n-aria-label attributes, t(key, params)
// substituted into plain text that is only ever written with textContent; the choice is
// kept under the same storage key as the map's (servicemap.lang) and ?lang= overrides it.

const STRINGS = {
  zh: {
    "login.home": "职工服务地图",
    "login.lang": "EN",
    "login.lang.label": "Switch to English",
    "login.title": "工作人员登录",
    "login.intro": "区总工会、市总工会工作人员使用工作账号登录。职工查询服务站点无需登录。",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.busy": "正在登录……",
    "login.done": "登录成功，正在跳转……",
    "login.missing": "请输入用户名和密码。",
    "login.bad": "用户名或密码错误。",
    "login.locked": "登录失败次数过多，请在 {seconds} 秒后再试。",
    "login.invalid": "输入有误：{message}",
    "login.network": "无法连接服务器，请稍后再试。",
    "login.failed": "登录失败：{message}",
    "login.signedIn": "您已登录：{name}（{role}）。",
    "login.continue": "继续",
    "login.logout": "退出登录",
    "login.loggedOut": "已退出登录。",
    "role.editor": "区级编辑",
    "role.reviewer": "市级审核",
    "role.planner": "规划人员",
    "role.checkup_staff": "体检车工作人员",
    "role.admin": "管理员",
  },
  en: {
    "login.home": "Worker service map",
    "login.lang": "中文",
    "login.lang.label": "切换到中文",
    "login.title": "Staff login",
    "login.intro": "District and city union staff log in with their work account. Workers looking for a service station need no account.",
    "login.username": "User name",
    "login.password": "Password",
    "login.submit": "Log in",
    "login.busy": "Logging in…",
    "login.done": "Logged in, opening the page…",
    "login.missing": "Enter your user name and password.",
    "login.bad": "Unknown user name or wrong password.",
    "login.locked": "Too many failed logins; try again in {seconds} s.",
    "login.invalid": "Invalid input: {message}",
    "login.network": "Cannot reach the server; try again later.",
    "login.failed": "Login failed: {message}",
    "login.signedIn": "You are logged in as {name} ({role}).",
    "login.continue": "Continue",
    "login.logout": "Log out",
    "login.loggedOut": "You are logged out.",
    "role.editor": "district editor",
    "role.reviewer": "city reviewer",
    "role.planner": "planner",
    "role.checkup_staff": "check-up staff",
    "role.admin": "administrator",
  },
};

const STORAGE_KEY = "servicemap.lang";
let current = initialLang();

function initialLang() {
  const fromUrl = new URLSearchParams(window.location.search).get("lang");
  if (fromUrl && fromUrl in STRINGS) return fromUrl;
  try {
    const stored = window.localStorage.getItem(STORAGE_KEY);
    if (stored && stored in STRINGS) return stored;
  } catch {
    // storage may be disabled: fall back to Chinese
  }
  return "zh";
}

/** The active language, "zh" or "en". */
export function getLang() {
  return current;
}

/** The string for key with {name} parameters substituted (plain text). */
export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** Translate the static markup under root. */
export function applyStrings(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-aria-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
  }
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.title = `${t("login.title")} · ${t("login.home")}`;
}

/** Switch to the other language and remember the choice. */
export function toggleLang() {
  current = current === "zh" ? "en" : "zh";
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // not persisted: the choice lasts for this page
  }
  return current;
}
