// The staff account corner of a page: "Staff login" for visitors, "Signed in: user · Log out"
// for staff. Workers never need it; planners and check-up staff sign in to run jobs.

import { onLangChange, t } from "../i18n.js";
import { apiUrl, csrfToken, whoAmI } from "./api.js";
import { h, replaceChildren } from "./dom.js";

function loginHref() {
  const here = `${location.pathname.split("/").pop() || ""}${location.search}`;
  return `login.html?next=${encodeURIComponent(here || "./")}`;
}

async function logout() {
  const token = csrfToken();
  await fetch(apiUrl("auth/logout"), {
    method: "POST",
    credentials: "same-origin",
    headers: token ? { "X-CSRF-Token": token } : {},
  }).catch(() => null);
  location.reload();
}

/**
 * Fill `container` with the login link or the signed-in user and a logout button (and, with
 * `staffLink`, a link to the registry pages, staff.html).
 * @returns {Promise<object|null>} the signed-in actor ({username, role, district}) or null
 */
export async function renderAccount(container, { staffLink = false } = {}) {
  let actor = null;
  try {
    actor = await whoAmI();
  } catch {
    actor = null;
  }
  const draw = () => {
    if (actor) {
      const out = h("button", { type: "button", class: "account-logout" }, t("account.logout"));
      out.addEventListener("click", logout);
      replaceChildren(container,
        staffLink ? h("a", { href: "staff.html", class: "account-staff", id: "link-staff" }, t("st.link")) : null,
        h("span", { class: "account-user" }, t("account.signedIn"),
          // the user name is data, in whatever script it was chosen in
          h("bdi", { class: "account-name", translate: "no" }, actor.username)),
        out);
    } else {
      replaceChildren(container, h("a", { href: loginHref(), class: "account-login" }, t("account.login")));
    }
  };
  draw();
  onLangChange(draw);
  return actor;
}
