// The example host page (embed-example.html): buttons that send the widget messages, and a
// log of what the widget says. Uses the loader's object (window.servicemapWidgets) and its
// DOM events; a page may as well call postMessage itself (docs/embed.md).

const log = (text) => {
  const box = document.getElementById("log");
  box.textContent += `${text}\n`;
  box.scrollTop = box.scrollHeight;
};

for (const type of ["ready", "select", "resize", "results", "error"]) {
  document.addEventListener(`servicemap:${type}`, (event) => log(JSON.stringify(event.detail)));
}

const widget = () => (window.servicemapWidgets || [])[0];
document.getElementById("fly").addEventListener("click", () => widget()?.flyTo(121.4737, 31.2304, 16));
document.getElementById("layer").addEventListener("click", () => widget()?.setLayer("health_point"));
document.getElementById("nearest").addEventListener("click", () => widget()?.nearest(121.4806, 31.2367));
