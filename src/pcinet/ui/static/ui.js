// The dashboard's little script: spare port rows of the why-not form, and the overview's
// optional auto-refresh. Everything works without it.
document.addEventListener("DOMContentLoaded", () => {
  const spare = () => Array.from(document.querySelectorAll(".port-row[data-spare]"));
  spare().forEach((row) => { row.hidden = true; });
  const add = document.getElementById("add-port");
  if (add) {
    add.addEventListener("click", () => {
      const next = spare().find((row) => row.hidden);
      if (next) { next.hidden = false; }
      if (!spare().some((row) => row.hidden)) { add.disabled = true; }
    });
  }
  const auto = document.getElementById("autorefresh");
  if (auto) {
    auto.checked = sessionStorage.getItem("pcinet-autorefresh") === "1";
    let timer = null;
    const arm = () => {
      clearTimeout(timer);
      if (auto.checked) { timer = setTimeout(() => location.reload(), 10000); }
    };
    auto.addEventListener("change", () => {
      sessionStorage.setItem("pcinet-autorefresh", auto.checked ? "1" : "0");
      arm();
    });
    arm();
  }
});
