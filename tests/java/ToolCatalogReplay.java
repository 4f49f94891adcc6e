import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs catalog queries the way pgjdbc-based tools (DBeaver, Metabase) do: a
 * PreparedStatement with bound parameters, executed three times so that pgjdbc switches to
 * a server-side prepared statement and binary results (prepareThreshold in the URL).
 * Prints one JSON object per query: its result columns (label, pgjdbc's type name) and the
 * rows of its last execution as getString() gives them, or the SQLSTATE it failed with.
 *
 * Usage: java -cp postgresql.jar:. ToolCatalogReplay JDBC_URL QUERY_FILE
 * QUERY_FILE: "QUERY name", then "PARAM text" / "PARAMLONG n" lines, the SQL, "END".
 */
public class ToolCatalogReplay {
    public static void main(String[] args) throws Exception {
        List<String> lines = Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8);
        try (Connection conn = DriverManager.getConnection(args[0])) {
            conn.setAutoCommit(true);
            int i = 0;
            while (i < lines.size()) {
                String name = lines.get(i++).substring("QUERY ".length());
                List<String[]> params = new ArrayList<>();
                while (lines.get(i).startsWith("PARAM")) {
                    String[] kind = lines.get(i++).split(" ", 2);
                    params.add(kind);
                }
                StringBuilder sql = new StringBuilder();
                while (!lines.get(i).equals("END")) {
                    sql.append(lines.get(i++)).append('\n');
                }
                i++;
                System.out.println(run(conn, name, sql.toString(), params));
            }
        }
    }

    private static String run(Connection conn, String name, String sql, List<String[]> params) {
        StringBuilder out = new StringBuilder("{\"name\": ").append(quote(name));
        try (PreparedStatement stmt = conn.prepareStatement(sql)) {
            for (int p = 0; p < params.size(); p++) {
                if (params.get(p)[0].equals("PARAMLONG")) {
                    stmt.setLong(p + 1, Long.parseLong(params.get(p)[1]));
                } else {
                    stmt.setString(p + 1, params.get(p)[1]);
                }
            }
            String rows = null;
            String columns = null;
            for (int round = 0; round < 3; round++) {
                try (ResultSet rs = stmt.executeQuery()) {
                    ResultSetMetaData md = rs.getMetaData();
                    StringBuilder cols = new StringBuilder("[");
                    for (int c = 1; c <= md.getColumnCount(); c++) {
                        cols.append(c > 1 ? ", " : "").append("[").append(quote(md.getColumnLabel(c)))
                            .append(", ").append(quote(md.getColumnTypeName(c))).append("]");
                    }
                    columns = cols.append("]").toString();
                    StringBuilder body = new StringBuilder("[");
                    boolean first = true;
                    while (rs.next()) {
                        body.append(first ? "" : ", ").append("[");
                        for (int c = 1; c <= md.getColumnCount(); c++) {
                            body.append(c > 1 ? ", " : "").append(quote(rs.getString(c)));
                        }
                        body.append("]");
                        first = false;
                    }
                    rows = body.append("]").toString();
                }
            }
            out.append(", \"columns\": ").append(columns).append(", \"rows\": ").append(rows);
        } catch (SQLException e) {
            out.append(", \"error\": ").append(quote(e.getSQLState()))
               .append(", \"message\": ").append(quote(String.valueOf(e.getMessage())));
        }
        return out.append("}").toString();
    }

    private static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder q = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            if (ch == '"' || ch == '\\') {
                q.append('\\').append(ch);
            } else if (ch < 0x20) {
                q.append(String.format("\\u%04x", (int) ch));
            } else {
                q.append(ch);
            }
        }
        return q.append('"').toString();
    }
}
