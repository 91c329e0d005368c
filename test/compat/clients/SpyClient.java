// spymemcached (Java) over the binary protocol, SASL PLAIN via PlainCallbackHandler
// when a username is given.
//
//   javac -cp /usr/share/java/spymemcached.jar -d OUT SpyClient.java
//   java -cp OUT:/usr/share/java/spymemcached.jar SpyClient "h:p,h:p" [USERNAME PASSWORD]
//
// Prints one JSON line: op name -> observed result (or {"error": "..."}).
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import net.spy.memcached.AddrUtil;
import net.spy.memcached.ConnectionFactoryBuilder;
import net.spy.memcached.MemcachedClient;
import net.spy.memcached.auth.AuthDescriptor;
import net.spy.memcached.auth.PlainCallbackHandler;

public class SpyClient {
  private static final Map<String, String> out = new LinkedHashMap<>();

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }

  private static String json(Object v) {
    if (v == null) return "null";
    if (v instanceof Boolean || v instanceof Number) return v.toString();
    if (v instanceof Map) {
      List<String> parts = new ArrayList<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        parts.add(quote(String.valueOf(e.getKey())) + ":" + json(e.getValue()));
      }
      return "{" + String.join(",", parts) + "}";
    }
    return quote(v.toString());
  }

  private static void step(String name, Callable<Object> fn) {
    try {
      out.put(name, json(fn.call()));
    } catch (Throwable t) {
      Throwable root = t;
      while (root.getCause() != null) root = root.getCause();
      out.put(name, "{\"error\":" + quote(root.getClass().getSimpleName() + ": " + root.getMessage()) + "}");
    }
  }

  public static void main(String[] args) throws Exception {
    String servers = args.length > 0 ? args[0] : System.getenv().getOrDefault("MEMCACHIER_SERVERS", "");
    String username = args.length > 1 ? args[1] : System.getenv().getOrDefault("MEMCACHIER_USERNAME", "");
    String password = args.length > 2 ? args[2] : System.getenv().getOrDefault("MEMCACHIER_PASSWORD", "");
    if (servers.isEmpty()) {
      System.err.println("SpyClient: no servers given");
      System.exit(2);
    }

    // spymemcached retries a failed SASL login forever; never outlive the test.
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(20_000);
      } catch (InterruptedException e) {
        return;
      }
      System.err.println("SpyClient: gave up after 20 s; results so far: " + out);
      Runtime.getRuntime().halt(3);
    });
    watchdog.setDaemon(true);
    watchdog.start();

    ConnectionFactoryBuilder builder = new ConnectionFactoryBuilder()
        .setProtocol(ConnectionFactoryBuilder.Protocol.BINARY)
        .setOpTimeout(3000);
    if (!username.isEmpty()) {
      builder.setAuthDescriptor(
          new AuthDescriptor(new String[] {"PLAIN"}, new PlainCallbackHandler(username, password)));
    }
    MemcachedClient client =
        new MemcachedClient(builder.build(), AddrUtil.getAddresses(servers.replace(',', ' ')));
    try {
      step("set", () -> client.set("greeting", 0, "hello").get(5, TimeUnit.SECONDS));
      step("get", () -> client.get("greeting"));
      step("get_missing", () -> client.get("no-such-key"));
      step("add_existing", () -> client.add("greeting", 0, "other").get(5, TimeUnit.SECONDS));
      step("incr_default", () -> client.incr("counter", 5, 10));
      step("incr", () -> client.incr("counter", 5));
      step("delete", () -> client.delete("greeting").get(5, TimeUnit.SECONDS));
      step("get_deleted", () -> client.get("greeting"));
    } finally {
      client.shutdown(2, TimeUnit.SECONDS);
    }

    List<String> parts = new ArrayList<>();
    for (Map.Entry<String, String> e : out.entrySet()) parts.add(quote(e.getKey()) + ":" + e.getValue());
    System.out.println("{" + String.join(",", parts) + "}");
    System.exit(0);
  }
}
