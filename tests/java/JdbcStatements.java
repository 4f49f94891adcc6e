import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * pgjdbc with PREPARE/EXECUTE, DEALLOCATE ALL, DISCARD ALL and LISTEN/NOTIFY.
 * Usage: java -cp .:postgresql.jar JdbcStatements JDBC_URL
 *
 * Prints what each step answered, one line each, so the output of this server and of
 * PostgreSQL can be compared line by line (tests/test_session_statements.py).
 */
public class JdbcStatements {
    static void print(String step, Object value) {
        System.out.println(step + ": " + value);
    }

    static String rows(ResultSet rs) throws SQLException {
        StringBuilder out = new StringBuilder();
        int columns = rs.getMetaData().getColumnCount();
        while (rs.next()) {
            out.append("(");
            for (int i = 1; i <= columns; i++) {
                out.append(i > 1 ? ", " : "").append(rs.getString(i));
            }
            out.append(")");
        }
        return out.toString();
    }

    static String run(Statement st, String sql) {
        try {
            if (st.execute(sql)) {
                return rows(st.getResultSet());
            }
            return "ok " + st.getUpdateCount();
        } catch (SQLException e) {
            return "error " + e.getSQLState();
        }
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        // prepareThreshold=1: pgjdbc names (server-prepares) a statement at its first use
        try (Connection conn = DriverManager.getConnection(url + "&prepareThreshold=1");
             Connection other = DriverManager.getConnection(url)) {
            Statement st = conn.createStatement();
            PreparedStatement ps = conn.prepareStatement("select ?::int + 1 as n");
            for (int i = 0; i < 3; i++) {
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    print("server-prepared " + i, rows(rs));
                }
            }
            // pgjdbc sees the DEALLOCATE ALL / DISCARD ALL tags and prepares again
            print("deallocate all", run(st, "DEALLOCATE ALL"));
            ps.setInt(1, 10);
            try (ResultSet rs = ps.executeQuery()) {
                print("after deallocate", rows(rs));
            }
            print("discard all", run(st, "DISCARD ALL"));
            ps.setInt(1, 20);
            try (ResultSet rs = ps.executeQuery()) {
                print("after discard", rows(rs));
            }
            print("prepare", run(st, "prepare jp(int, text) as select $1 * 2 as d, $2 || '!' as t"));
            print("execute", run(st, "execute jp(21, 'hi')"));
            PreparedStatement ex = conn.prepareStatement("execute jp(4, 'x')");
            for (int i = 0; i < 2; i++) {
                try (ResultSet rs = ex.executeQuery()) {
                    print("execute prepared " + i, rows(rs));
                }
            }
            print("execute wrong count", run(st, "execute jp(1)"));
            print("deallocate", run(st, "deallocate jp"));
            print("execute missing", run(st, "execute jp(1, 'a')"));

            print("listen", run(st, "listen jdbc_chan"));
            Statement ost = other.createStatement();
            print("notify", run(ost, "notify jdbc_chan, 'one'"));
            print("notify", run(ost, "notify jdbc_chan, 'two'"));
            run(st, "select 1");  // notifications arrive with the next exchange
            PGNotification[] got = conn.unwrap(PGConnection.class).getNotifications(5000);
            StringBuilder seen = new StringBuilder();
            for (PGNotification n : got == null ? new PGNotification[0] : got) {
                seen.append(n.getName()).append("=").append(n.getParameter()).append(" ");
            }
            print("notifications", seen.toString().trim());
            print("unlisten", run(st, "unlisten *"));
        }
    }
}
